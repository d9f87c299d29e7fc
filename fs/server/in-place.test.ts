// The Tread and Twrite fast paths (fs/server/in-place.ts) against the generic handlers: every
// scenario runs twice, on a file whose handle declares `ignoresSignal` (taken by the fast path)
// and on the same file without it (the generic Tread/Twrite handlers), and the two transcripts
// must be the same. Also checks what both must do: counts clamped to the request and to the
// iounit, offsets above 2^53 passed exactly, sync throws answered (NineError as itself, anything
// else EIO and a fault), promises tracked (flushable, a duplicate tag refused while one is in
// flight, a clunk waits for them), Handle.released called once per array returned; for writes,
// data held by a write that returns a promise stays intact while later pipelined writes arrive
// on the connection.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EACCES, EIO, encode, L_O_RDONLY, L_O_RDWR, NOFID, QTDIR, QTFILE } from '../codec/index.ts';
import type { Msg } from '../codec/index.ts';
import { E } from '../errors.ts';
import { errorOf, RawConn, withDeadline } from '../testing/raw.ts';
import type { Attr, Handle, Node } from '../tree/types.ts';
import { NineServer } from './server.ts';

type Kind = 'echo' | 'later' | 'reject' | 'boom' | 'deny';
const KINDS: Kind[] = ['echo', 'later', 'reject', 'boom', 'deny'];

const attr = (mode: number): Attr => ({
  mode, size: 0n, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, uid: 'u', gid: 'g', muid: 'u', nUid: 0, nGid: 0, nlink: 1,
});

interface World { root: Node; released: Map<string, number>; handedOut: Map<string, number>; written: Map<string, string[]> }

function world(): World {
  const released = new Map<string, number>();
  const handedOut = new Map<string, number>();
  const written = new Map<string, string[]>();
  let path = 1;
  const file = (kind: Kind, fast: boolean): Node => {
    const name = `${fast ? 'fast' : 'slow'}-${kind}`;
    const bump = (m: Map<string, number>) => m.set(name, (m.get(name) ?? 0) + 1);
    const give = (data: Uint8Array): Uint8Array => { bump(handedOut); return data; };
    const handle: Handle = {
      ignoresSignal: fast,
      read(offset, count) {
        switch (kind) {
          case 'echo': {
            // More than asked for: the session must cut it to the count.
            const head = Buffer.from(`${offset} ${count} `);
            return give(Buffer.concat([head, Buffer.alloc(count + 5, 'z')]));
          }
          case 'later': return new Promise((resolve) => setTimeout(() => resolve(give(Buffer.from('late'))), 60));
          case 'reject': return new Promise((_, reject) => setTimeout(() => reject(E.notFound), 10));
          case 'boom': throw new TypeError('a bug in a handle');
          case 'deny': throw E.perm;
        }
      },
      released() { bump(released); },
      write(offset, data) {
        const log = (): number => {
          written.set(name, [...(written.get(name) ?? []), `${offset}:${Buffer.from(data).toString()}`]);
          return data.length;
        };
        switch (kind) {
          case 'echo': return log();
          // Looks at the bytes only when it settles: they must still be the ones sent.
          case 'later': return new Promise((resolve) => setTimeout(() => resolve(log()), 20));
          case 'reject': return new Promise((_, reject) => setTimeout(() => reject(E.notFound), 10));
          case 'boom': throw new TypeError('a bug in a handle');
          case 'deny': throw E.perm;
        }
      },
    };
    return { name, qid: { type: QTFILE, version: 0, path: BigInt(++path) }, getattr: () => attr(0o644), open: () => handle };
  };
  const files = KINDS.flatMap((k) => [file(k, true), file(k, false)]);
  const root: Node = {
    name: '/', qid: { type: QTDIR, version: 0, path: 1n }, getattr: () => attr(0o755),
    lookup: (n) => files.find((f) => f.name === n), list: () => files,
  };
  return { root, released, handedOut, written };
}

interface Fixture { port: number; faults: unknown[]; w: World }

async function withServer(body: (f: Fixture) => Promise<void>): Promise<void> {
  const w = world();
  const faults: unknown[] = [];
  const server = new NineServer({ attach: () => w.root, onError: (e) => faults.push(e), flushTimeoutMs: 5000 });
  try {
    const { port } = await server.listen(0, '127.0.0.1');
    await body({ port, faults, w });
  } finally {
    await withDeadline(server.close(), 5000, 'server.close()');
  }
}

/** A connection with `name` open on fid 2. */
async function opened(f: Fixture, name: string, flags = L_O_RDONLY): Promise<RawConn> {
  const c = await RawConn.negotiated(f.port, '9P2000.L', 8192);
  assert.is((await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).type, 'Rattach');
  assert.is((await c.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: [name] })).type, 'Rwalk');
  assert.is((await c.call({ type: 'Tlopen', fid: 2, flags })).type, 'Rlopen');
  return c;
}

/** A reply as comparable text. */
function show(m: Msg): string {
  if (m.type === 'Rwrite') return `${m.tag} Rwrite ${m.count}`;
  if (m.type === 'Rread') return `${m.tag} Rread ${m.data.length} ${Buffer.from(m.data.subarray(0, 40)).toString()}`;
  const e = errorOf(m);
  return e === undefined ? `${m.tag} ${m.type}` : `${m.tag} error ${e}`;
}

/** Runs `script` against fast-KIND and slow-KIND; returns both transcripts (replies in arrival order). */
async function both(kind: Kind, script: (c: RawConn) => Promise<number>, flags = L_O_RDONLY): Promise<{ fast: string[]; slow: string[]; written: { fast: string[]; slow: string[] } }> {
  const out = { fast: [] as string[], slow: [] as string[], written: { fast: [] as string[], slow: [] as string[] } };
  await withServer(async (f) => {
    for (const side of ['fast', 'slow'] as const) {
      const c = await opened(f, `${side}-${kind}`, flags);
      try {
        const replies = await script(c);
        for (let i = 0; i < replies; i++) out[side].push(show(await c.next(`reply ${i + 1} of ${replies}`)));
        assert.ok(await c.silent(30), 'nothing more');
      } finally {
        c.close();
      }
      out.written[side] = f.w.written.get(`${side}-${kind}`) ?? [];
    }
  });
  assert.equal(out.fast, out.slow, `${kind}: the fast path answers as the generic one`);
  assert.equal(out.written.fast, out.written.slow, `${kind}: the fast path writes as the generic one`);
  return out;
}

const tread = (tag: number, offset: bigint, count: number): Msg => ({ type: 'Tread', tag, fid: 2, offset, count });

test('sync data: cut to the count asked and to the iounit; offsets above 2^53 exact', async () => {
  const big = (1n << 60n) + 5n;
  const { fast } = await both('echo', async (c) => {
    c.send(tread(7, big, 5000));
    c.send(tread(8, 3n, 100_000));
    return 2;
  });
  assert.match(fast[0]!, new RegExp(`^7 Rread 5000 ${big} 5000 z`));
  assert.match(fast[1]!, /^8 Rread 8168 3 8168 z/, 'clamped to msize 8192 - 24');
});

test('Handle.released: once per array returned, after the reply went out', () => withServer(async (f) => {
  for (const side of ['fast', 'slow']) {
    const c = await opened(f, `${side}-echo`);
    try {
      for (let i = 0; i < 5; i++) assert.is((await c.call(tread(0, BigInt(i), 6000))).type, 'Rread');
      assert.is((await c.call(tread(0, 0n, 10))).type, 'Rread'); // small: copied into the frame
    } finally {
      c.close();
    }
    assert.is(f.w.handedOut.get(`${side}-echo`), 6);
    assert.is(f.w.released.get(`${side}-echo`), 6, side);
  }
}));

test('sync throws: a NineError is answered as itself, anything else is EIO and a fault', async () => {
  let faults = 0;
  await withServer(async (f) => {
    for (const side of ['fast', 'slow']) {
      const c = await opened(f, `${side}-boom`);
      try {
        assert.is(errorOf(await c.call(tread(0, 0n, 10))), EIO);
        assert.is((await c.call({ type: 'Tclunk', fid: 2 })).type, 'Rclunk', 'the connection carries on');
      } finally {
        c.close();
      }
    }
    faults = f.faults.length;
  });
  assert.is(faults, 2, 'one fault per side');
  const { fast } = await both('deny', async (c) => { c.send(tread(9, 0n, 10)); return 1; });
  assert.is(fast[0], `9 error ${EACCES}`);
});

test('promises: answered when they settle; rejections answered with their error', async () => {
  const ok = await both('later', async (c) => { c.send(tread(3, 0n, 10)); return 1; });
  assert.equal(ok.fast, ['3 Rread 4 late']);
  const bad = await both('reject', async (c) => { c.send(tread(4, 0n, 10)); return 1; });
  assert.match(bad.fast[0]!, /^4 error \d+$/);
});

test('a pending read is in flight: a duplicate tag is refused, Tflush answers after its reply', async () => {
  const dup = await both('later', async (c) => {
    c.send(tread(5, 0n, 10));
    c.send(tread(5, 0n, 10));
    return 2;
  });
  assert.match(dup.fast[0]!, /^5 error \d+$/, 'the duplicate');
  assert.is(dup.fast[1], '5 Rread 4 late', 'the original');
  const flushed = await both('later', async (c) => {
    c.send(tread(6, 0n, 10));
    c.send({ type: 'Tflush', tag: 10, oldtag: 6 });
    return 2;
  });
  assert.equal(flushed.fast, ['6 Rread 4 late', '10 Rflush']);
});

test('a clunk of the fid waits for a pending read', async () => {
  const { fast } = await both('later', async (c) => {
    c.send(tread(11, 0n, 10));
    c.send({ type: 'Tclunk', tag: 12, fid: 2 });
    return 2;
  });
  assert.is(fast[1], '12 Rclunk', 'Rclunk comes after the read settled');
});

const twrite = (tag: number, offset: bigint, text: string): Msg => ({ type: 'Twrite', tag, fid: 2, offset, data: Buffer.from(text) });

test('writes: answered in place with the count; offsets above 2^53 exact; errors as for reads', async () => {
  const big = (1n << 60n) + 7n;
  const ok = await both('echo', async (c) => {
    c.send(twrite(1, big, 'hello'));
    c.send(twrite(2, 0n, 'x'.repeat(5000)));
    return 2;
  }, L_O_RDWR);
  assert.equal(ok.fast, ['1 Rwrite 5', '2 Rwrite 5000']);
  assert.equal(ok.written.fast, [`${big}:hello`, `0:${'x'.repeat(5000)}`]);
  const boom = await both('boom', async (c) => { c.send(twrite(3, 0n, 'a')); return 1; }, L_O_RDWR);
  assert.is(boom.fast[0], `3 error ${EIO}`);
  const deny = await both('deny', async (c) => { c.send(twrite(4, 0n, 'a')); return 1; }, L_O_RDWR);
  assert.is(deny.fast[0], `4 error ${EACCES}`);
  const reject = await both('reject', async (c) => { c.send(twrite(5, 0n, 'a')); return 1; }, L_O_RDWR);
  assert.match(reject.fast[0]!, /^5 error \d+$/);
});

test('a write still running keeps its bytes while pipelined writes arrive behind it', async () => {
  const texts = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i).repeat(3000 + i));
  const over = 'Z'.repeat(8000); // within msize 8192
  const { fast, written } = await both('later', async (c) => {
    c.socket.setNoDelay(true);
    c.sendBytes(Buffer.concat(texts.map((t, i) => encode(twrite(20 + i, BigInt(i), t)))));
    // A later read on the connection, while those writes still run: it would land in the same
    // reused buffer, over their bytes, if the server did not know they were held.
    await new Promise((r) => setTimeout(r, 5));
    c.send(twrite(40, 99n, over));
    return texts.length + 1;
  }, L_O_RDWR);
  assert.equal(fast, [...texts.map((t, i) => `${20 + i} Rwrite ${t.length}`), `40 Rwrite ${over.length}`]);
  assert.equal(written.fast, [...texts.map((t, i) => `${i}:${t}`), `99:${over}`]);
});

test('a file open read-only takes no write and one open write-only no read (generic answers)', async () => {
  const ro = await both('echo', async (c) => { c.send(twrite(6, 0n, 'a')); return 1; });
  assert.match(ro.fast[0]!, /^6 error \d+$/);
  assert.equal(ro.written.fast, []);
});

test.run();
