// fs/client/frame-reader.ts: reads land behind each other in pooled buffers; every frame comes
// out whole and in order whatever the read sizes, frames lying in one buffer come out as views,
// and bytes handed out are never overwritten by a later read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChunkPool } from '../../base/bytes/chunk-pool.ts';
import { FrameSplitter } from '../codec/index.ts';
import { prng } from '../codec/fuzz.ts';
import { FrameReader, MIN_READ } from './frame-reader.ts';
import { LentBuffers } from './lent-buffers.ts';

const BUF = 512 * 1024; // as the client's

/** A frame of `size` bytes: size[4], then bytes derived from its index. */
function frame(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32LE(size, 0);
  for (let k = 4; k < size; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

interface Run { got: Uint8Array[]; views: number; moves: number; pool: ChunkPool; lent: LentBuffers; reader: FrameReader; readInto: Set<ArrayBufferLike> }

/**
 * Feeds `stream` to a FrameReader in reads of sizes from `readSize` (at most the room it offers),
 * handing out (lending) every frame that is a view of the read memory, as the client does with
 * Rread data. Nothing is recycled until the end, so any overwrite would show.
 */
function feed(stream: Buffer, readSize: () => number): Run {
  const pool = new ChunkPool(BUF, 64 << 20);
  const lent = new LentBuffers(pool);
  const splitter = new FrameSplitter(4 << 20);
  const got: Uint8Array[] = [];
  let views = 0;
  const readInto = new Set<ArrayBufferLike>();
  const reader = new FrameReader(lent, splitter, (chunk) => {
    let kept = false;
    for (const f of splitter.push(chunk)) {
      got.push(f);
      if (f.buffer === chunk.buffer) { lent.lend(f); kept = true; views++; }
    }
    return kept;
  });
  for (let at = 0; at < stream.length;) {
    const into = reader.next();
    assert.ok(into.length > 0, 'room to read into');
    readInto.add(into.buffer);
    const n = Math.min(into.length, stream.length - at, Math.max(1, readSize()));
    into.set(stream.subarray(at, at + n));
    reader.read(into.subarray(0, n));
    at += n;
  }
  return { got, views, moves: reader.moves, pool, lent, reader, readInto };
}

function check(r: Run, want: Buffer[]): void {
  assert.is(r.got.length, want.length, 'frame count');
  for (let i = 0; i < want.length; i++) assert.ok(Buffer.from(r.got[i]!).equals(want[i]!), `frame ${i} (${want[i]!.length} bytes) intact`);
}

test('64 KiB replies in reads of any size: whole, in order, mostly views, never overwritten', () => {
  const rnd = prng(11);
  const want = Array.from({ length: 200 }, (_, i) => frame(i, 65547 - (i % 3 === 0 ? Math.floor(rnd() * 65000) : 0)));
  const stream = Buffer.concat(want);
  for (const sizes of [() => BUF, () => 1 + Math.floor(rnd() * 100_000), () => 1 + Math.floor(rnd() * 300)]) {
    const r = feed(stream, sizes);
    try {
      check(r, want);
      // Only frames straddling the end of a buffer are moved, and only their first part is copied.
      assert.ok(r.views === want.length, `every frame fits a buffer: all views (${r.views})`);
      assert.ok(r.moves < want.length, `moves ${r.moves}`);
    } finally {
      r.pool.close();
    }
  }
});

test('sizes around the buffer size and the minimum read; frames larger than a buffer are assembled apart, read into directly', () => {
  const sizes = [7, 11, BUF - 1, BUF, BUF + 1, 2 * BUF + 5, MIN_READ - 1, MIN_READ, MIN_READ + 1, BUF - MIN_READ, 8, BUF - 7, 3 * BUF, 9];
  const want = sizes.map((n, i) => frame(i, n));
  const stream = Buffer.concat(want);
  const rnd = prng(5);
  for (const read of [() => BUF, () => 3, () => MIN_READ + 1, () => 1 + Math.floor(rnd() * 2 * BUF)]) {
    const r = feed(stream, read);
    try {
      check(r, want);
      for (let i = 0; i < sizes.length; i++) {
        if (sizes[i]! <= BUF) continue;
        assert.is.not(r.got[i]!.buffer.byteLength, BUF, `frame ${i} is in a buffer of its own`);
        assert.ok(r.readInto.has(r.got[i]!.buffer), `frame ${i}'s rest was read straight into it`);
      }
    } finally {
      r.pool.close();
    }
  }
});

test('buffers go back to the pool once their views are recycled; an unlent buffer is read into again', () => {
  const want = Array.from({ length: 100 }, (_, i) => frame(i, 20_000));
  const r = feed(Buffer.concat(want), () => BUF);
  try {
    check(r, want);
    const trackedBefore = r.lent.tracked;
    assert.ok(trackedBefore > 1, `several buffers hold lent views (${trackedBefore})`);
    for (const f of r.got) r.lent.recycle(f);
    assert.is(r.lent.tracked, 1, 'only the one being read into');
    assert.ok(r.pool.held >= trackedBefore - 1, `retired buffers pooled (${r.pool.held})`);
  } finally {
    r.pool.close();
  }
  // Small replies that nobody keeps a view of: one buffer, read into from its start each time.
  const pool = new ChunkPool(BUF, 1 << 20);
  const lent = new LentBuffers(pool);
  const splitter = new FrameSplitter(8192);
  let n = 0;
  const reader = new FrameReader(lent, splitter, (chunk) => { n += splitter.push(chunk).length; return false; });
  try {
    const first = reader.next();
    for (let i = 0; i < 100; i++) {
      const into = reader.next();
      assert.is(into.byteOffset, first.byteOffset, 'from the start of the same buffer');
      const f = frame(i, 100);
      into.set(f);
      reader.read(into.subarray(0, f.length));
    }
    assert.is(n, 100);
    assert.is(lent.tracked, 1);
  } finally {
    pool.close();
  }
});

test.run();
