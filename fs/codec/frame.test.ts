// The incremental frame splitter: any chunking yields the same frames; bad size fields fail at
// once, before the announced body is buffered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, FrameSplitter, decode, encode } from './index.ts';
import { prng } from './fuzz.ts';

const frames = [
  encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' }),
  encode({ type: 'Tclunk', tag: 1, fid: 2 }),
  encode({ type: 'Rflush', tag: 2 }),
  encode({ type: 'Twrite', tag: 3, fid: 1, offset: 0n, data: new Uint8Array(3000).fill(7) }),
  encode({ type: 'Twalk', tag: 4, fid: 1, newfid: 2, wnames: ['a', 'b'] }),
];
const stream = Buffer.concat(frames);
const hexes = frames.map((f) => f.toString('hex'));

function catchCodec(fn: () => unknown): CodecError {
  try { fn(); } catch (err) { if (err instanceof CodecError) return err; throw err; }
  throw new Error('expected a CodecError');
}

test('whole stream in one chunk, and one byte at a time', () => {
  const s = new FrameSplitter(8192);
  assert.equal(s.push(stream).map((f) => Buffer.from(f).toString('hex')), hexes);
  assert.is(s.buffered, 0);
  const t = new FrameSplitter(8192);
  const out: string[] = [];
  for (const b of stream) out.push(...t.push(new Uint8Array([b])).map((f) => Buffer.from(f).toString('hex')));
  assert.equal(out, hexes);
});

test('random chunkings give the same frames, and each decodes', () => {
  const rnd = prng(7);
  for (let round = 0; round < 200; round++) {
    const s = new FrameSplitter(8192);
    const out: Uint8Array[] = [];
    for (let at = 0; at < stream.length;) {
      const n = Math.min(stream.length - at, Math.floor(rnd() * 40) + (rnd() < 0.1 ? 4000 : 0));
      out.push(...s.push(stream.subarray(at, at + n)));
      at += n;
    }
    assert.equal(out.map((f) => Buffer.from(f).toString('hex')), hexes);
    for (const f of out) decode(f, '9P2000.L');
  }
});

test('a frame inside one chunk is a view, not a copy', () => {
  const s = new FrameSplitter(8192);
  const [f] = s.push(frames[1]!);
  assert.is(f!.buffer, frames[1]!.buffer);
});

test('a huge size field fails on its fourth byte, without waiting for or keeping the body', () => {
  const s = new FrameSplitter(8192);
  assert.equal(s.push(new Uint8Array([0xff, 0xff, 0xff])), []);
  const err = catchCodec(() => s.push(new Uint8Array([0x7f, 1, 2, 3])));
  assert.is(err.kind, 'frame-size');
  assert.match(err.reason, 'exceeds the maximum of 8192');
  assert.is(s.buffered, 0);
  // The stream has lost its framing: the splitter stays failed.
  assert.is(catchCodec(() => s.push(frames[1]!)), err);
});

test('size just over msize fails; exactly msize passes', () => {
  const s = new FrameSplitter(15);
  assert.is(catchCodec(() => s.push(new Uint8Array([16, 0, 0, 0]))).kind, 'frame-size');
  const ok = new FrameSplitter(11);
  assert.is(ok.push(frames[1]!).length, 1);
});

test('sizes below the 7-byte minimum fail', () => {
  for (const size of [0, 1, 4, 6]) {
    const err = catchCodec(() => new FrameSplitter(8192).push(new Uint8Array([size, 0, 0, 0])));
    assert.is(err.kind, 'frame-size');
    assert.match(err.reason, 'below the 7-byte minimum');
  }
  assert.is(new FrameSplitter(8192).push(encode({ type: 'Rflush', tag: 1 })).length, 1);
});

test('maxSize can be lowered after version negotiation and is validated', () => {
  const s = new FrameSplitter(1 << 20);
  s.maxSize = 2048; // the 3000-byte Twrite no longer fits
  assert.is(s.maxSize, 2048);
  assert.is(catchCodec(() => s.push(frames[3]!)).kind, 'frame-size');
  assert.throws(() => new FrameSplitter(6), /maxSize/);
  assert.throws(() => { s.maxSize = 2 ** 32; }, /maxSize/);
});

test('partial frames stay buffered until complete', () => {
  const s = new FrameSplitter(8192);
  const f = frames[3]!;
  assert.equal(s.push(f.subarray(0, 2)), []);
  assert.equal(s.push(f.subarray(2, 100)), []);
  assert.is(s.buffered, 100);
  const out = s.push(Buffer.concat([f.subarray(100), frames[1]!.subarray(0, 5)]));
  assert.is(out.length, 1);
  assert.is(Buffer.from(out[0]!).toString('hex'), f.toString('hex'));
  assert.is(s.buffered, 5);
  assert.equal(s.push(new Uint8Array(0)), []);
});

/**
 * Feeds `stream` to `s` the way a socket reading into one reused buffer does: each piece is
 * copied into `reused`, pushed, detached, then overwritten. `piece(i)` is the i-th read's size.
 * Returns copies of the frames as they came out.
 */
function throughReusedBuffer(s: FrameSplitter, stream: Buffer, reused: Buffer, piece: (i: number) => number): Buffer[] {
  const out: Buffer[] = [];
  for (let sent = 0, i = 0; sent < stream.length; i++) {
    const n = Math.min(piece(i), reused.length, stream.length - sent);
    stream.copy(reused, 0, sent, sent + n);
    for (const got of s.push(reused.subarray(0, n))) out.push(Buffer.from(got));
    s.detach(reused.buffer);
    reused.fill(0xee); // the next read overwrites the buffer
    sent += n;
  }
  return out;
}

test('detach() copies held bytes out of a reused read buffer', () => {
  const f = frames[3]!;
  const out = throughReusedBuffer(new FrameSplitter(8192), f, Buffer.alloc(4096), () => 37);
  assert.is(out.length, 1);
  assert.is(out[0]!.toString('hex'), f.toString('hex'));
});

test('detach(): a frame bigger than the read buffer is assembled once, frames after it in the same read too', () => {
  const big = Buffer.alloc(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
  big.writeUInt32LE(big.length, 0);
  big[4] = 117; // Rread, for the looks
  const small = frames[3]!;
  const s = new FrameSplitter(2 << 20);
  const out = throughReusedBuffer(s, Buffer.concat([small, big, small, big, small]), Buffer.alloc(100_000), (i) => (i % 3 === 0 ? 100_000 : 61_111));
  assert.is(out.length, 5);
  assert.is(s.buffered, 0);
  for (const [i, want] of [small, big, small, big, small].entries()) assert.ok(out[i]!.equals(want), `frame ${i}`);
});

test('chunks that touch in one memory join: a frame read in pieces behind each other is a view', () => {
  const s = new FrameSplitter(8192);
  const mem = Buffer.concat([frames[3]!, frames[1]!]); // a 3 KiB Twrite, then a Tclunk
  const got: Uint8Array[] = [];
  for (let at = 0; at < mem.length; at += 700) got.push(...s.push(mem.subarray(at, Math.min(mem.length, at + 700))));
  assert.is(got.length, 2);
  assert.is(got[0]!.buffer, mem.buffer, 'the Twrite is a view of the read memory');
  assert.is(got[0]!.byteOffset, mem.byteOffset);
  assert.ok(Buffer.from(got[0]!).equals(frames[3]!));
  assert.ok(Buffer.from(got[1]!).equals(frames[1]!));
  // Chunks that do not touch (a gap, or other memory) are still joined by copying.
  const t = new FrameSplitter(8192);
  const a = Buffer.from(frames[3]!);
  assert.equal(t.push(a.subarray(0, 100)), []);
  const [f] = t.push(Buffer.from(a.subarray(100)));
  assert.ok(Buffer.from(f!).equals(frames[3]!));
  assert.is.not(f!.buffer, a.buffer);
});

test('relocate moves the held bytes of a frame; the rest read behind them completes it in place', () => {
  const s = new FrameSplitter(8192);
  const f3 = frames[3]!;
  assert.equal(s.push(Buffer.from(f3.subarray(0, 2))), []);
  assert.is(s.pendingSize, -1, 'size not known from 2 bytes');
  assert.equal(s.push(Buffer.from(f3.subarray(2, 1000))), []);
  assert.is(s.pendingSize, f3.length);
  const to = Buffer.alloc(4096);
  assert.is(s.relocate(to), 1000);
  assert.is(s.buffered, 1000);
  to.set(f3.subarray(1000), 1000); // the next read lands right behind
  const [f] = s.push(to.subarray(1000, f3.length));
  assert.is(f!.buffer, to.buffer);
  assert.ok(Buffer.from(f!).equals(f3));
  assert.throws(() => { s.push(Buffer.from(f3.subarray(0, 100))); s.relocate(Buffer.alloc(50)); }, /100 bytes held, room for 50/);
  // Nothing to move while a frame is assembled in a buffer of its own.
  const u = new FrameSplitter(8192);
  const mem = Buffer.from(f3.subarray(0, 500));
  u.push(mem);
  u.detach(mem.buffer);
  assert.ok(u.assembling);
  assert.is(u.relocate(Buffer.alloc(4096)), 0);
  const [g] = u.push(Buffer.from(f3.subarray(500)));
  assert.ok(Buffer.from(g!).equals(f3));
});

test('assemblyRoom: the rest of a frame assembled apart, read straight into and taken without a copy', () => {
  const s = new FrameSplitter(8192);
  const f3 = frames[3]!;
  assert.is(s.assemblyRoom(), undefined);
  const mem = Buffer.from(f3.subarray(0, 300));
  s.push(mem);
  s.detach(mem.buffer);
  const room = s.assemblyRoom()!;
  assert.is(room.length, f3.length - 300);
  room.set(f3.subarray(300, 1000)); // a read of 700 bytes into it
  assert.equal(s.push(room.subarray(0, 700)), []);
  const rest = s.assemblyRoom()!;
  assert.is(rest.length, f3.length - 1000);
  assert.is(rest.byteOffset, room.byteOffset + 700);
  rest.set(f3.subarray(1000));
  const [f] = s.push(rest);
  assert.is(f!.buffer, room.buffer, 'the frame is the assembly itself');
  assert.ok(Buffer.from(f!).equals(f3));
  assert.is(s.assemblyRoom(), undefined);
});

test.run();
