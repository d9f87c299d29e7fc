// fs/tree/remote/handle.ts readPieces: a read bigger than a piece is split over parallel remote
// reads and answered with the pieces as they arrived, which the server writes behind the Rread
// header with one writev (fs/tree/types.ts ReadsInPieces). Exact bytes in order for sizes around the
// piece boundaries and a short final piece, through a real relay and directly on the handle;
// a failed piece fails the read and gives every other piece back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closers, within } from '../../../test/helpers/deadline.ts';
import { Client } from '../../client/client.ts';
import { E, RemoteError } from '../../errors.ts';
import { NineServer } from '../../server/server.ts';
import { memfs } from '../memfs.ts';
import type { MemFile } from '../memfs.ts';
import { RemoteTree } from '../remote.ts';
import { root } from '../synthetic.ts';
import type { Handle, Node, OpenMode } from '../types.ts';
import { PIECE } from './handle.ts';

const { later, cleanup } = closers();
test.after.each(cleanup);

const READ: OpenMode = { read: true, write: false, truncate: false, append: false };
const owner = { nUid: 0, nGid: 0, uid: 'u' };
const faults: unknown[] = [];

async function serve(tree: Node): Promise<number> {
  const server = new NineServer({ attach: () => tree, onError: (e) => faults.push(e) });
  const addr = await server.listen(0, '127.0.0.1');
  later(() => server.close());
  return addr.port;
}

async function relayTo(port: number): Promise<RemoteTree> {
  const rt = await within(RemoteTree.connect({ port, timeoutMs: 3000 }), 5000, 'RemoteTree.connect');
  later(() => rt.close());
  return rt;
}

/** Bytes that differ at every position (a misplaced or repeated piece shows). */
function content(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >>> 8) * 13 + (i >>> 16)) & 0xff;
  return b;
}

function memWith(files: Record<string, Buffer>): Node {
  const mem = memfs({ maxBytes: 64 << 20 });
  for (const [name, data] of Object.entries(files)) (mem.create({ name, dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, data);
  return mem;
}

const SIZES = [PIECE - 1, PIECE, PIECE + 1, 2 * PIECE - 1, 2 * PIECE, 2 * PIECE + 1, 5 * PIECE + 17, 16 * PIECE + 3];

test('through a relay: reads of any size around the piece boundaries return exactly the bytes, in order', async () => {
  const files: Record<string, Buffer> = {};
  for (const n of SIZES) files[`f${n}`] = content(n);
  const rt = await relayTo(await serve(memWith(files)));
  const cl = await Client.connect({ port: await serve(rt.root), msize: 1 << 20, timeoutMs: 3000 });
  later(() => cl.close());
  await cl.attach({ uname: 'u' });
  for (const n of SIZES) {
    const want = files[`f${n}`]!;
    const fid = await cl.walkPath(`f${n}`);
    await cl.open(fid, 'r');
    // From 0 (the whole file, past its end: a short final piece), from inside the first piece,
    // from a piece boundary, and one byte before the end.
    for (const [at, count] of [[0, cl.iounit], [0, n], [1, n], [PIECE, 3 * PIECE], [PIECE - 1, 2 * PIECE + 2], [n - 1, cl.iounit]] as const) {
      const got = Buffer.from(await cl.read(fid, at, count));
      const exp = want.subarray(Math.min(at, n), Math.min(n, at + Math.min(count, cl.iounit)));
      assert.ok(got.equals(exp), `file of ${n} bytes, read of ${count} at ${at}: ${got.length} bytes, want ${exp.length}`);
    }
    assert.is((await cl.read(fid, n, cl.iounit)).length, 0, `at the end of ${n} bytes: 0`);
    await cl.clunk(fid);
    assert.ok(Buffer.from(await cl.readFile(`f${n}`)).equals(want), `readFile of ${n} bytes (sequential: read-ahead)`);
  }
  assert.equal(faults, [], 'no tree faults');
  const held = rt.status().readBuffers ?? 0;
  assert.ok(held <= 4, `the relay's client gave its read buffers back (${held} held)`);
});

test('on the handle: readPieces gives the pieces in order (several for a split read), read() one array of the same bytes', async () => {
  const n = 5 * PIECE + 17;
  const want = content(n);
  const rt = await relayTo(await serve(memWith({ f: want })));
  const node = await rt.root.lookup!('f');
  assert.ok(node, 'f found');
  await node.getattr(); // the size the split relies on
  const h = (await node.open!(READ)) as Handle & { readPieces(o: bigint, c: number, s: AbortSignal): Promise<Uint8Array[]> };
  later(async () => h.close?.());
  const signal = new AbortController().signal;
  try {
    const pieces = await h.readPieces(1n, 3 * PIECE, signal);
    assert.is(pieces.length, 3, 'three pieces');
    assert.ok(Buffer.concat(pieces).equals(want.subarray(1, 1 + 3 * PIECE)));
    for (const p of pieces) h.released!(p);
    // Past the end: the last piece is short and the ones after it are left out.
    const tail = await h.readPieces(BigInt(4 * PIECE), 4 * PIECE, signal);
    assert.is(tail.length, 2);
    assert.ok(Buffer.concat(tail).equals(want.subarray(4 * PIECE)));
    for (const p of tail) h.released!(p);
    const one = await h.read!(0n, 2 * PIECE + 5, signal);
    assert.ok(Buffer.from(one).equals(want.subarray(0, 2 * PIECE + 5)), 'read(): the same bytes in one array');
    h.released!(one);
  } finally {
    await h.close?.();
  }
});

test('a failed piece fails the read with the remote\'s error, gives the other pieces back, and the next read works', async () => {
  const n = 8 * PIECE;
  const want = content(n);
  const mem = memfs({ maxBytes: 16 << 20 });
  const inner = mem.create({ name: 'f', dir: false, perm: 0o644, ...owner }) as MemFile;
  inner.writeAt(0, want);
  const bad = BigInt(3 * PIECE); // the fourth piece of a read from 0 fails
  let failing = true;
  const wrapped: Node = {
    get name() { return 'f'; },
    get qid() { return inner.qid; },
    getattr: () => inner.getattr(),
    open: async (mode) => {
      const h = await inner.open!(mode);
      return {
        read: (offset, count, signal) => {
          if (failing && offset <= bad && bad < offset + BigInt(count)) throw E.io.withText('piece failed on purpose');
          return h.read!(offset, count, signal);
        },
        close: () => h.close?.(),
      };
    },
  };
  const rt = await relayTo(await serve(root([wrapped])));
  const cl = await Client.connect({ port: await serve(rt.root), msize: 1 << 20, timeoutMs: 3000 });
  later(() => cl.close());
  await cl.attach({ uname: 'u' });
  const fid = await cl.walkPath('f');
  await cl.open(fid, 'r');
  for (let i = 0; i < 5; i++) {
    try {
      await cl.read(fid, 0, 6 * PIECE);
      assert.unreachable('the read should fail');
    } catch (err) {
      assert.instance(err, RemoteError, String(err));
    }
  }
  const held = rt.status().readBuffers ?? 0;
  assert.ok(held <= 2, `the good pieces went back to the relay's client (${held} read buffers held)`);
  failing = false;
  assert.ok(Buffer.from(await cl.read(fid, 0, 6 * PIECE)).equals(want.subarray(0, 6 * PIECE)), 'the next read is whole');
});

test.run();
