// The server reads each connection into one reused buffer (core/sdk/reused-read.ts). These tests
// check the two ways that could corrupt data: a request still running when the next read arrives
// (it keeps a view of the buffer), and frames cut at every possible place across reads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode, L_O_RDONLY, L_O_WRONLY, NOFID } from '../codec/index.ts';
import { Client } from '../client/client.ts';
import { memfs } from '../tree/memfs.ts';
import { file, root } from '../tree/synthetic.ts';
import type { SynFile } from '../tree/synthetic.ts';
import { RawConn, withDeadline } from '../testing/raw.ts';
import { serveTrees } from '../testing/serve-trees.ts';

/** A file whose writes hold their data for a while before looking at it (like an async disk write). */
function slowSink(kept: Uint8Array[]): SynFile {
  return file('sink', {
    write: async (data) => {
      kept.push(data);
      await new Promise((r) => setTimeout(r, 20));
    },
  });
}

test('64 KiB Twrites still running when the next ones arrive keep their own bytes', async () => {
  const kept: Uint8Array[] = [];
  const faults: unknown[] = [];
  const { server, port } = await serveTrees(() => ({ '': root([slowSink(kept)]) }), faults);
  const client = await Client.connect({ port, msize: 65536 + 24 });
  try {
    const { fid } = await client.attach();
    const f = (await client.walk(fid, ['sink'])).fid;
    await client.open(f, 'w');
    const n = 48;
    const sizes = Array.from({ length: n }, (_, i) => 65536 - (i * 37) % 4000);
    // All in flight at once: the server reads many frames while the first writes still wait.
    const counts = await withDeadline(Promise.all(sizes.map((size, i) => client.write(f, i * 65536, Buffer.alloc(size, i + 1)))), 10_000, 'writes');
    assert.equal(counts, sizes);
    assert.is(kept.length, n);
    const fills = kept.map((d) => {
      const v = d[0]!;
      assert.ok(d.every((b) => b === v), `a write's data changed after it arrived (fill ${v})`);
      return v;
    }).sort((a, b) => a - b);
    assert.equal(fills, sizes.map((_s, i) => i + 1));
    assert.equal(faults, []);
  } finally {
    await client.close();
    await server.close();
  }
});

test('frames cut at every place across reads arrive whole and in order', async () => {
  const mem = memfs();
  const faults: unknown[] = [];
  const { server, port } = await serveTrees(() => ({ '': mem }), faults);
  const raw = await RawConn.negotiated(port, '9P2000.L', 65536);
  try {
    assert.is((await raw.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).type, 'Rattach');
    assert.is((await raw.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: [] })).type, 'Rwalk');
    assert.is((await raw.call({ type: 'Tlcreate', fid: 2, name: 'f', flags: L_O_WRONLY, mode: 0o644, gid: 0 })).type, 'Rlcreate');
    // Writes of many sizes, sent as one byte stream cut into pieces of 1 byte to 70 000 bytes.
    const expect: Buffer[] = [];
    const frames: Uint8Array[] = [];
    let offset = 0;
    let seed = 7;
    const rnd = (k: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % k; };
    for (let i = 0; i < 60; i++) {
      const data = Buffer.alloc(1 + rnd(60_000));
      for (let j = 0; j < data.length; j++) data[j] = (i * 31 + j) & 0xff;
      frames.push(encode({ type: 'Twrite', tag: 100 + i, fid: 2, offset: BigInt(offset), data }));
      expect.push(data);
      offset += data.length;
    }
    const stream = Buffer.concat(frames);
    for (let at = 0; at < stream.length;) {
      const len = Math.min(stream.length - at, [1, 3, 7, 4096, 65_559, 70_000][rnd(6)]!);
      raw.sendBytes(stream.subarray(at, at + len));
      at += len;
      if (rnd(4) === 0) await new Promise((r) => setImmediate(r));
    }
    for (let i = 0; i < 60; i++) {
      const r = await raw.reply(100 + i, `Rwrite ${i}`);
      assert.equal(r, { type: 'Rwrite', tag: 100 + i, count: expect[i]!.length });
    }
    assert.is((await raw.call({ type: 'Twalk', fid: 1, newfid: 3, wnames: ['f'] })).type, 'Rwalk');
    assert.is((await raw.call({ type: 'Tlopen', fid: 3, flags: L_O_RDONLY })).type, 'Rlopen');
    const got: Buffer[] = [];
    for (let at = 0; at < offset;) {
      const r = await raw.call({ type: 'Tread', fid: 3, offset: BigInt(at), count: 60_000 });
      assert.is(r.type, 'Rread');
      const d = (r as { data: Uint8Array }).data;
      assert.ok(d.length > 0, 'file shorter than written');
      got.push(Buffer.from(d));
      at += d.length;
    }
    assert.ok(Buffer.concat(got).equals(Buffer.concat(expect)), 'file content differs from what was written');
    assert.equal(faults, []);
  } finally {
    raw.close();
    await server.close();
  }
});

test.run();
