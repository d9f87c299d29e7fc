// A handle that answers reads in pieces (fs/tree/types.ts ReadsInPieces): the Rread carries exactly
// their bytes, in order, trimmed to the count; small ones are joined, big ones go out as the
// header and the pieces (TCP: one writev); released() comes once per piece after the write.
// Also a Session whose transport has no sendPieces: the pieces are joined and released at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closers, waitFor } from '../../test/helpers/deadline.ts';
import { decode, encode, L_O_RDONLY, NOFID } from '../codec/index.ts';
import type { Msg } from '../codec/index.ts';
import { RawConn } from '../testing/raw.ts';
import { root, file } from '../tree/synthetic.ts';
import type { Handle, Node } from '../tree/types.ts';
import { NineServer } from './server.ts';
import { Session } from './session.ts';
import type { Transport } from './session.ts';

const { later, cleanup } = closers();
test.after.each(cleanup);

/** A file whose reads come back as `pieceSizes` pieces of a known pattern, and which records released(). */
function piecedTree(pieceSizes: () => number[]): { tree: Node; released: Uint8Array[]; handed: Uint8Array[] } {
  const released: Uint8Array[] = [];
  const handed: Uint8Array[] = [];
  const base = file('f', { read: () => 'x' });
  const node: Node = {
    name: 'f',
    qid: base.qid,
    getattr: () => base.getattr(),
    open: () => {
      const h: Handle & { readPieces(o: bigint, c: number, s: AbortSignal): Promise<Uint8Array[]> } = {
        readPieces: async (offset) => {
          let at = Number(offset);
          const out = pieceSizes().map((n) => {
            const p = Buffer.alloc(n);
            for (let i = 0; i < n; i++) p[i] = (at + i) & 0xff;
            at += n;
            return p;
          });
          handed.push(...out);
          return out;
        },
        read: () => { throw new Error('read() must not be used when readPieces is there'); },
        released: (d) => { released.push(d); },
      };
      return h;
    },
  };
  return { tree: root([node]), released, handed };
}

function pattern(offset: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (offset + i) & 0xff;
  return b;
}


test('over TCP: Rread of the pieces, in order and trimmed to the count; released once per piece', async () => {
  let sizes: number[] = [];
  const t = piecedTree(() => sizes);
  const server = new NineServer({ attach: () => t.tree });
  const { port } = await server.listen(0, '127.0.0.1');
  later(() => server.close());
  const c = await RawConn.negotiated(port, '9P2000.L', 1 << 20);
  later(async () => c.close());
  assert.is((await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).type, 'Rattach');
  assert.is((await c.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: ['f'] })).type, 'Rwalk');
  assert.is((await c.call({ type: 'Tlopen', fid: 2, flags: L_O_RDONLY })).type, 'Rlopen');
  const cases: Array<{ sizes: number[]; offset: number; count: number }> = [
    { sizes: [65512, 65512, 100], offset: 0, count: 1 << 19 }, // big: header + pieces
    { sizes: [1000, 2000, 50], offset: 7, count: 1 << 19 }, // small: joined into one frame
    { sizes: [65512, 65512, 65512], offset: 3, count: 100_000 }, // more than asked: trimmed
    { sizes: [4096, 0, 4096], offset: 0, count: 1 << 19 }, // an empty piece in between
    { sizes: [], offset: 0, count: 10 }, // none: end of file
  ];
  for (const k of cases) {
    sizes = k.sizes;
    const before = t.handed.length;
    const r = await c.call({ type: 'Tread', fid: 2, offset: BigInt(k.offset), count: k.count });
    assert.is(r.type, 'Rread', JSON.stringify(k));
    const total = k.sizes.reduce((a, b) => a + b, 0);
    const want = pattern(k.offset, Math.min(total, k.count));
    assert.ok(Buffer.from((r as { data: Uint8Array }).data).equals(want), `bytes of ${JSON.stringify(k)}`);
    const mine = t.handed.slice(before);
    await waitFor(`released() of every piece of ${JSON.stringify(k)}`, () => mine.every((p) => t.released.includes(p)));
  }
  assert.is(t.released.length, t.handed.length, 'each piece released once');
});

test('a transport without sendPieces: the session joins the pieces and releases them at once', async () => {
  const t = piecedTree(() => [30_000, 30_000, 10]);
  const frames: Uint8Array[] = [];
  const transport: Transport = {
    remote: 'test:0',
    send(frame, payload, sent) {
      frames.push(payload ? Buffer.concat([frame, payload]) : frame);
      sent?.();
    },
  };
  const s = new Session(transport, { attach: () => t.tree });
  const ask = (m: Msg): void => s.receive(encode(m, m.type === 'Tversion' ? undefined : '9P2000.L'));
  const steps: Msg[] = [
    { type: 'Tversion', tag: 0xffff, msize: 1 << 20, version: '9P2000.L' },
    { type: 'Tattach', tag: 1, fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 },
    { type: 'Twalk', tag: 2, fid: 1, newfid: 2, wnames: ['f'] },
    { type: 'Tlopen', tag: 3, fid: 2, flags: L_O_RDONLY },
  ];
  for (const [i, m] of steps.entries()) {
    ask(m);
    await waitFor(`the reply to ${m.type}`, () => frames.length === i + 1);
    assert.is.not(decode(frames[i]!, '9P2000.L').type, 'Rlerror', m.type);
  }
  ask({ type: 'Tread', tag: 4, fid: 2, offset: 5n, count: 1 << 19 });
  await waitFor('the Rread', () => frames.length === 5);
  const r = decode(frames[4]!, '9P2000.L');
  assert.is(r.type, 'Rread');
  assert.ok(Buffer.from((r as { data: Uint8Array }).data).equals(pattern(5, 60_010)));
  assert.is(t.released.length, 3, 'released as soon as they were copied');
  await s.end();
});

test.run();
