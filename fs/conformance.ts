// One conformance suite for every tree implementation (in the spirit of p9's fsimpl/test): the 9P
// behaviours of /work/shared/9P-NOTES.md, each checked through raw frames on a real TCP
// connection to our server, plus the same tree through our client in both dialects.
//
// A fixture builds a fresh tree per test with this layout:
//   f        file, content "hello\n"
//   big      file, 10000 bytes, byte i = i % 251
//   d/       directory holding g (file, "g\n") and e/ (empty directory)
// Writable fixtures (create/write/remove/rename supported) get the write tests too.

import { suite } from 'uvu';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EXDEV, ESTALE,
  decodeDirents, decodeStats, DMDIR, EBADF, EISDIR, ENOENT, MSG, NOFID, NOTAG, OREAD, ORCLOSE, ORDWR, OTRUNC,
  OWRITE, L_O_RDONLY, L_O_WRONLY, L_O_RDWR, EOPNOTSUPP, nullStat, QTDIR,
} from './codec/index.ts';
import type { Dialect, Msg, Qid } from './codec/index.ts';
import { Client } from './client/client.ts';
import { RemoteError } from './errors.ts';
import { NineServer } from './server/server.ts';
import type { Node } from './tree/types.ts';
import { errorOf, RawConn } from './testing/raw.ts';

export interface TreeFixture {
  /** A fresh tree with the layout above. */
  make(): Node | Promise<Node>;
  writable: boolean;
}

export const BIG = Buffer.from(Array.from({ length: 10000 }, (_, i) => i % 251));

/** Builds the uvu suite; the caller runs it (`conformance('memfs', fx).run()`). */
export function conformance(name: string, fx: TreeFixture): Test {
  const t = suite(`conformance: ${name}`);
  let server: NineServer | undefined;
  let port = 0;
  let root: Node | undefined;
  const conns: RawConn[] = [];
  const clients: Client[] = [];

  t.before(async () => {
    server = new NineServer({
      attach: () => { if (!root) throw new Error('no tree'); return root; },
      maxMsize: 1 << 20,
    });
    port = (await server.listen(0, '127.0.0.1')).port;
  });
  t.after(async () => { await server?.close(); });
  t.before.each(async () => { root = await fx.make(); });
  t.after.each(async () => {
    for (const c of conns.splice(0)) c.close();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  const open = async (dialect: Dialect = '9P2000.L', msize = 8192): Promise<RawConn> => {
    const c = await RawConn.negotiated(port, dialect, msize);
    conns.push(c);
    return c;
  };
  const attach = async (c: RawConn, fid = 1): Promise<Qid> => {
    const r = await c.call(c.dialect === '9P2000' ? { type: 'Tattach', fid, afid: NOFID, uname: 'u', aname: '' }
      : { type: 'Tattach', fid, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
    if (r.type !== 'Rattach') throw new Error(`attach failed: ${JSON.stringify(r)}`);
    return r.qid;
  };
  const session = async (dialect: Dialect = '9P2000.L', msize = 8192): Promise<RawConn> => {
    const c = await open(dialect, msize);
    await attach(c);
    return c;
  };
  const walk = (c: RawConn, fid: number, newfid: number, wnames: string[]): Promise<Msg> => c.call({ type: 'Twalk', fid, newfid, wnames });
  const isErr = (m: Msg, expected?: string | number): void => {
    const e = errorOf(m);
    assert.ok(e !== undefined, `expected an error, got ${m.type}`);
    if (expected !== undefined) assert.is(e, expected);
  };
  const ok = <T extends Msg['type']>(m: Msg, type: T): Extract<Msg, { type: T }> => {
    assert.is(m.type, type, `expected ${type}, got ${JSON.stringify(m, (_k, v) => typeof v === 'bigint' ? String(v) : v)}`);
    return m as Extract<Msg, { type: T }>;
  };
  const lopen = (c: RawConn, fid: number, flags: number): Promise<Msg> => c.call({ type: 'Tlopen', fid, flags });
  const getattr = (c: RawConn, fid: number): Promise<Msg> => c.call({ type: 'Tgetattr', fid, requestMask: 0x7ffn });
  const client = async (version: Dialect): Promise<Client> => {
    const cl = await Client.connect({ port, version, msize: 65536 });
    clients.push(cl);
    await cl.attach({ uname: 'u' });
    return cl;
  };

  // ---- version ----

  t('version: msize never above the client\'s, clamped to the server maximum', async () => {
    const c = await open();
    ok(await c.call({ type: 'Tversion', msize: 5000, version: '9P2000.L' }), 'Rversion');
    const r = ok(await c.rpc({ type: 'Tversion', tag: NOTAG, msize: 8 << 20, version: '9P2000.L' }), 'Rversion');
    assert.is(r.msize, 1 << 20);
    const r2 = ok(await c.rpc({ type: 'Tversion', tag: NOTAG, msize: 5000, version: '9P2000.L' }), 'Rversion');
    assert.is(r2.msize, 5000);
  });

  t('version: unknown suffix downgrades to 9P2000, non-9P strings get "unknown", small msize refused', async () => {
    const c = await open('9P2000');
    assert.is(ok(await c.rpc({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.X' }), 'Rversion').version, '9P2000');
    assert.is(ok(await c.rpc({ type: 'Tversion', tag: NOTAG, msize: 8192, version: 'HTTP/1.1' }), 'Rversion').version, 'unknown');
    isErr(await c.rpc({ type: 'Tversion', tag: NOTAG, msize: 1000, version: '9P2000' }));
    // Not negotiated now: everything but Tversion is an error.
    isErr(await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '' }));
  });

  t('version: a second Tversion clunks every fid', async () => {
    const c = await session();
    ok(await getattr(c, 1), 'Rgetattr');
    ok(await c.rpc({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' }), 'Rversion');
    isErr(await getattr(c, 1), EBADF);
    await attach(c, 1); // fid 1 is free again
  });

  t('messages before Tversion get an error', async () => {
    const c = await open();
    const c2 = await RawConn.open(port, '9P2000');
    conns.push(c2);
    isErr(await c2.call({ type: 'Tclunk', fid: 1 }));
    void c;
  });

  // ---- fids ----

  t('fids: duplicate fid and unknown fid are errors; a clunked fid can be reused', async () => {
    const c = await session();
    isErr(await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 }));
    isErr(await getattr(c, 99), EBADF);
    ok(await walk(c, 1, 2, []), 'Rwalk');
    isErr(await walk(c, 1, 2, []));
    ok(await c.call({ type: 'Tclunk', fid: 2 }), 'Rclunk');
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    isErr(await c.call({ type: 'Tclunk', fid: 77 }), EBADF);
  });

  // ---- walk ----

  t('walk: 0 names clones', async () => {
    const c = await session();
    const w = ok(await walk(c, 1, 2, []), 'Rwalk');
    assert.is(w.wqids.length, 0);
    const a1 = ok(await getattr(c, 1), 'Rgetattr');
    const a2 = ok(await getattr(c, 2), 'Rgetattr');
    assert.equal(a1.qid, a2.qid);
    ok(await walk(c, 2, 3, ['d', 'g']), 'Rwalk');
    ok(await walk(c, 1, 1, []), 'Rwalk'); // newfid == fid
  });

  t('walk: partial walk returns fewer qids and leaves newfid unbound; first name failing is an error', async () => {
    const c = await session();
    const w = ok(await walk(c, 1, 2, ['d', 'nope', 'x']), 'Rwalk');
    assert.is(w.wqids.length, 1);
    assert.ok((w.wqids[0]!.type & QTDIR) !== 0);
    isErr(await getattr(c, 2), EBADF);
    isErr(await walk(c, 1, 2, ['nope']), ENOENT);
    isErr(await getattr(c, 2), EBADF);
    // walking from a file is an error
    ok(await walk(c, 1, 3, ['f']), 'Rwalk');
    isErr(await walk(c, 3, 4, ['x']));
  });

  t('walk: more than 16 names refused, 16 accepted', async () => {
    const c = await session();
    const names17 = Array.from({ length: 17 }, () => '..');
    // The encoder refuses 17 names, so build the frame by hand.
    const parts = names17.map((n) => { const b = Buffer.alloc(2 + n.length); b.writeUInt16LE(n.length); b.write(n, 2); return b; });
    const body = Buffer.concat(parts);
    const f = Buffer.alloc(7 + 10 + body.length);
    f.writeUInt32LE(f.length, 0); f[4] = MSG.Twalk; f.writeUInt16LE(9, 5);
    f.writeUInt32LE(1, 7); f.writeUInt32LE(2, 11); f.writeUInt16LE(17, 15); body.copy(f, 17);
    c.sendBytes(f);
    isErr(await c.reply(9, 'reply to the 17-name Twalk'));
    isErr(await getattr(c, 2), EBADF);
    const w = ok(await walk(c, 1, 2, Array.from({ length: 16 }, () => '..')), 'Rwalk');
    assert.is(w.wqids.length, 16);
  });

  t('walk: ".." at the root stays at the root', async () => {
    const c = await session();
    const rootQid = ok(await getattr(c, 1), 'Rgetattr').qid;
    const w = ok(await walk(c, 1, 2, ['..']), 'Rwalk');
    assert.equal(w.wqids[0], rootQid);
    const w2 = ok(await walk(c, 1, 3, ['d', '..', '..', '..', 'd']), 'Rwalk');
    assert.is(w2.wqids.length, 5);
    assert.equal(w2.wqids[2], rootQid);
    assert.equal(w2.wqids[3], rootQid);
    const dq = ok(await walk(c, 1, 4, ['d']), 'Rwalk').wqids[0];
    assert.equal(w2.wqids[4], dq);
  });

  t('walk: empty names and names with "/" refused', async () => {
    const c = await session();
    isErr(await walk(c, 1, 2, ['']));
    isErr(await walk(c, 1, 2, ['d/g']));
    isErr(await getattr(c, 2), EBADF);
    const w = ok(await walk(c, 1, 2, ['d', '']), 'Rwalk');
    assert.is(w.wqids.length, 1);
    isErr(await getattr(c, 2), EBADF);
  });

  t('walk: in 9P2000 walking from an open fid is an error', async () => {
    const c = await session('9P2000');
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    ok(await c.call({ type: 'Topen', fid: 2, mode: OREAD }), 'Ropen');
    isErr(await walk(c, 2, 3, ['g']));
    ok(await walk(c, 1, 3, ['d', 'g']), 'Rwalk');
  });

  // ---- open ----

  t('open: opening twice refused (both dialects)', async () => {
    const c = await session();
    ok(await walk(c, 1, 2, ['f']), 'Rwalk');
    ok(await lopen(c, 2, L_O_RDONLY), 'Rlopen');
    isErr(await lopen(c, 2, L_O_RDONLY));
    const c2 = await session('9P2000');
    ok(await walk(c2, 1, 2, ['f']), 'Rwalk');
    ok(await c2.call({ type: 'Topen', fid: 2, mode: OREAD }), 'Ropen');
    isErr(await c2.call({ type: 'Topen', fid: 2, mode: OREAD }));
  });

  t('open: directories open read-only', async () => {
    const c = await session();
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    isErr(await lopen(c, 2, L_O_WRONLY), EISDIR);
    isErr(await lopen(c, 2, L_O_RDWR), EISDIR);
    ok(await lopen(c, 2, L_O_RDONLY), 'Rlopen');
    const c2 = await session('9P2000');
    ok(await walk(c2, 1, 2, ['d']), 'Rwalk');
    isErr(await c2.call({ type: 'Topen', fid: 2, mode: OWRITE }));
    isErr(await c2.call({ type: 'Topen', fid: 2, mode: ORDWR }));
    isErr(await c2.call({ type: 'Topen', fid: 2, mode: OREAD | OTRUNC }));
    ok(await c2.call({ type: 'Topen', fid: 2, mode: OREAD }), 'Ropen');
  });

  t('read: unopened fid is an error; iounit and count clamped to msize-24; EOF is 0 bytes', async () => {
    const c = await session('9P2000.L', 4096);
    ok(await walk(c, 1, 2, ['big']), 'Rwalk');
    isErr(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 100 }));
    const o = ok(await lopen(c, 2, L_O_RDONLY), 'Rlopen');
    assert.ok(o.iounit > 0 && o.iounit <= 4096 - 24, `iounit ${o.iounit}`);
    const r = ok(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 1 << 20 }), 'Rread');
    assert.is(r.data.length, 4096 - 24);
    assert.equal(Buffer.from(r.data), BIG.subarray(0, 4072));
    const r2 = ok(await c.call({ type: 'Tread', fid: 2, offset: 9990n, count: 100 }), 'Rread');
    assert.equal(Buffer.from(r2.data), BIG.subarray(9990));
    assert.is(ok(await c.call({ type: 'Tread', fid: 2, offset: 10000n, count: 100 }), 'Rread').data.length, 0);
    assert.is(ok(await c.call({ type: 'Tread', fid: 2, offset: 1n << 40n, count: 100 }), 'Rread').data.length, 0);
    isErr(await c.call({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('x') }));
  });

  // ---- directories ----

  t('9P2000 directory reads: whole stat entries only, offsets checked, no . or ..', async () => {
    const c = await session('9P2000');
    ok(await walk(c, 1, 2, []), 'Rwalk');
    ok(await c.call({ type: 'Topen', fid: 2, mode: OREAD }), 'Ropen');
    const all = ok(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 8000 }), 'Rread');
    const names = decodeStats(all.data, '9P2000').map((s) => s.name).sort();
    assert.equal(names, ['big', 'd', 'f']);
    // one entry at a time: a count that fits exactly one stat
    const first = decodeStats(all.data, '9P2000')[0]!;
    const oneSize = 2 + first.name.length + 39 + 2 + 6 + first.uid.length + first.gid.length + first.muid.length;
    const r1 = ok(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: oneSize + 5 }), 'Rread');
    assert.is(decodeStats(r1.data, '9P2000').length, 1);
    isErr(await c.call({ type: 'Tread', fid: 2, offset: 3n, count: 8000 }));
    let offset = BigInt(r1.data.length);
    const seen = [decodeStats(r1.data, '9P2000')[0]!.name];
    // Further on, a count too small for the next entry answers 0 bytes (Linux asks for the tail
    // of its buffer and comes back at the same offset), and the same offset then goes on.
    const tail = ok(await c.call({ type: 'Tread', fid: 2, offset, count: 10 }), 'Rread');
    assert.is(tail.data.length, 0, 'no partial entry, no error');
    for (let i = 0; i < 10; i++) {
      const r = ok(await c.call({ type: 'Tread', fid: 2, offset, count: 8000 }), 'Rread');
      if (r.data.length === 0) break;
      for (const s of decodeStats(r.data, '9P2000')) seen.push(s.name);
      offset += BigInt(r.data.length);
    }
    assert.equal(seen.sort(), ['big', 'd', 'f']);
    // at offset 0, a count too small for the first entry is an error, not EOF
    isErr(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 10 }));
    // dir stat says directory
    const st = ok(await c.call({ type: 'Tstat', fid: 2 }), 'Rstat').stat;
    assert.ok((st.mode & DMDIR) !== 0);
  });

  t('.L readdir: offsets are cookies, whole entries, end is an empty reply', async () => {
    const c = await session();
    ok(await walk(c, 1, 2, []), 'Rwalk');
    isErr(await c.call({ type: 'Treaddir', fid: 2, offset: 0n, count: 8000 })); // not open
    ok(await lopen(c, 2, L_O_RDONLY), 'Rlopen');
    const names: string[] = [];
    let offset = 0n;
    for (let i = 0; i < 20; i++) {
      const r = ok(await c.call({ type: 'Treaddir', fid: 2, offset, count: 40 }), 'Rreaddir');
      if (r.data.length === 0) break;
      const ds = decodeDirents(r.data);
      assert.ok(ds.length >= 1);
      for (const d of ds) names.push(d.name);
      offset = ds[ds.length - 1]!.offset;
    }
    assert.equal(names.sort(), ['.', '..', 'big', 'd', 'f']);
    // rereading from a cookie in the middle gives the rest again
    const all = decodeDirents(ok(await c.call({ type: 'Treaddir', fid: 2, offset: 0n, count: 8000 }), 'Rreaddir').data);
    const rest = decodeDirents(ok(await c.call({ type: 'Treaddir', fid: 2, offset: all[1]!.offset, count: 8000 }), 'Rreaddir').data);
    assert.equal(rest.map((d) => d.name), all.slice(2).map((d) => d.name));
    isErr(await c.call({ type: 'Treaddir', fid: 2, offset: 0n, count: 5 }));
  });

  t('.L: Tread on a directory is EISDIR; Treaddir on a file is an error', async () => {
    const c = await session();
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    ok(await lopen(c, 2, L_O_RDONLY), 'Rlopen');
    isErr(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 100 }), EISDIR);
    ok(await walk(c, 1, 3, ['f']), 'Rwalk');
    ok(await lopen(c, 3, L_O_RDONLY), 'Rlopen');
    isErr(await c.call({ type: 'Treaddir', fid: 3, offset: 0n, count: 100 }));
  });

  // ---- remove ----

  t('Tremove clunks the fid even when the remove fails', async () => {
    const c = await session();
    // Removing the root always fails.
    ok(await walk(c, 1, 2, []), 'Rwalk');
    isErr(await c.call({ type: 'Tremove', fid: 2 }));
    isErr(await c.call({ type: 'Tclunk', fid: 2 }), EBADF);
    if (fx.writable) {
      ok(await walk(c, 1, 3, ['d']), 'Rwalk'); // not empty
      isErr(await c.call({ type: 'Tremove', fid: 3 }));
      isErr(await getattr(c, 3), EBADF);
    }
  });

  // ---- bad input ----

  t('unknown message types and wrong-dialect messages get an error, never a crash', async () => {
    const c = await session();
    const frame = Buffer.from([7, 0, 0, 0, 200, 5, 0]);
    c.sendBytes(frame);
    isErr(await c.reply(5, 'reply to type 200'), EOPNOTSUPP);
    c.sendBytes(Buffer.from([7, 0, 0, 0, MSG.Tlerror, 6, 0]));
    isErr(await c.reply(6, 'reply to Tlerror'));
    isErr(await c.call({ type: 'Topen', fid: 1, mode: OREAD }), EOPNOTSUPP);
    isErr(await c.call({ type: 'Tstat', fid: 1 }), EOPNOTSUPP);
    // R-messages sent to a server
    isErr(await c.call({ type: 'Rclunk' }));
    const c2 = await session('9P2000');
    isErr(await c2.call({ type: 'Tgetattr', fid: 1, requestMask: 0n }));
    // A string with NUL in it
    const bad = Buffer.from([0, 0, 0, 0, MSG.Twalk, 8, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0, 0]);
    bad.writeUInt32LE(bad.length, 0);
    c.sendBytes(bad);
    isErr(await c.reply(8, 'reply to a Twalk with a NUL name'));
    ok(await getattr(c, 1), 'Rgetattr');
    ok(await c2.call({ type: 'Tstat', fid: 1 }), 'Rstat');
  });

  t('a frame larger than msize closes the connection; the server stays up', async () => {
    const c = await session('9P2000.L', 4096);
    const f = Buffer.alloc(8000);
    f.writeUInt32LE(8000, 0); f[4] = MSG.Twrite; f.writeUInt16LE(3, 5);
    c.sendBytes(f);
    await c.waitClosed('the server to close a connection that sent a frame over msize');
    const c2 = await session();
    ok(await getattr(c2, 1), 'Rgetattr');
  });

  t('Tauth answers an error when no auth is configured (ENOENT in .L)', async () => {
    const c = await open();
    isErr(await c.call({ type: 'Tauth', afid: 5, uname: 'u', aname: '', nUname: 0 }), ENOENT);
    const c2 = await open('9P2000');
    isErr(await c2.call({ type: 'Tauth', afid: 5, uname: 'u', aname: '' }));
    await attach(c, 5); // afid was not bound
  });

  t('Tflush of an unknown tag is answered with Rflush at once', async () => {
    const c = await session();
    ok(await c.call({ type: 'Tflush', oldtag: 4242 }), 'Rflush');
  });

  t('pipelined requests are all answered with their own tags', async () => {
    const c = await session();
    const tags = Array.from({ length: 50 }, (_, i) => 100 + i);
    for (const tag of tags) c.send({ type: 'Tgetattr', tag, fid: 1, requestMask: 0x7ffn });
    for (const tag of tags) ok(await c.reply(tag, `Rgetattr tag ${tag}`), 'Rgetattr');
  });

  // ---- through our client, both dialects ----

  for (const dialect of ['9P2000', '9P2000.L'] as const) {
    t(`client (${dialect}): ls, readFile, stat, walk errors`, async () => {
      const cl = await client(dialect);
      const names = (await cl.ls('/')).map((e) => e.name).sort();
      assert.equal(names, ['big', 'd', 'f']);
      const d = (await cl.ls('/')).find((e) => e.name === 'd')!;
      assert.ok(d.isDir);
      assert.is((await cl.readFile('f')).toString(), 'hello\n');
      assert.equal(await cl.readFile('/big'), BIG);
      assert.is((await cl.readFile('d/g')).toString(), 'g\n');
      assert.equal((await cl.ls('d')).map((e) => e.name).sort(), ['e', 'g']);
      const st = await cl.statPath('d/e');
      assert.ok(st.isDir);
      try {
        await cl.readFile('d/nope');
        assert.unreachable('readFile of a missing file');
      } catch (err) {
        assert.instance(err, RemoteError);
      }
      // many requests in flight on one connection
      const all = await Promise.all(Array.from({ length: 40 }, () => cl.readFile('f')));
      for (const b of all) assert.is(b.toString(), 'hello\n');
    });
  }

  if (fx.writable) writeTests(t, { open: session, client, walk, ok, isErr, lopen });
  return t;
}

interface Helpers {
  open(dialect?: Dialect, msize?: number): Promise<RawConn>;
  client(version: Dialect): Promise<Client>;
  walk(c: RawConn, fid: number, newfid: number, wnames: string[]): Promise<Msg>;
  ok<T extends Msg['type']>(m: Msg, type: T): Extract<Msg, { type: T }>;
  isErr(m: Msg, expected?: string | number): void;
  lopen(c: RawConn, fid: number, flags: number): Promise<Msg>;
}

function writeTests(t: Test, h: Helpers): void {
  const { walk, ok, isErr } = h;
  /** The path does not exist: an error (first name) or a short Rwalk (a later one). */
  const missing = async (c: RawConn, names: string[]): Promise<void> => {
    const m = await walk(c, 1, 900, names);
    if (m.type === 'Rwalk') assert.ok(m.wqids.length < names.length, `${names.join('/')} should not exist`);
    else isErr(m);
  };
  /** The path exists: its qid (walked to fid 901 and clunked again). */
  const present = async (c: RawConn, names: string[]): Promise<Qid> => {
    const w = ok(await walk(c, 1, 901, names), 'Rwalk');
    assert.is(w.wqids.length, names.length, `${names.join('/')} should exist`);
    ok(await c.call({ type: 'Tclunk', fid: 901 }), 'Rclunk');
    return w.wqids[names.length - 1]!;
  };
  /** Creates the file `name` in directory `dir` holding `data` (.L); returns its qid. */
  const mkfile = async (c: RawConn, dir: string[], name: string, data = ''): Promise<Qid> => {
    ok(await walk(c, 1, 902, dir), 'Rwalk');
    const q = ok(await c.call({ type: 'Tlcreate', fid: 902, name, flags: L_O_RDWR, mode: 0o644, gid: 0 }), 'Rlcreate').qid;
    if (data) ok(await c.call({ type: 'Twrite', fid: 902, offset: 0n, data: Buffer.from(data) }), 'Rwrite');
    ok(await c.call({ type: 'Tclunk', fid: 902 }), 'Rclunk');
    return q;
  };
  const qidOf = async (c: RawConn, fid: number): Promise<Qid> =>
    ok(await c.call({ type: 'Tgetattr', fid, requestMask: 0x7ffn }), 'Rgetattr').qid;
  /** A relay to a 9P2000 server renames only within a directory and answers EXDEV otherwise. */
  const crossDevice = (m: Msg): boolean => m.type === 'Rlerror' && m.ecode === EXDEV;

  t('write: create, write, read back, size, qid.version changes, rename, remove (.L)', async () => {
    const c = await h.open();
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    const cr = ok(await c.call({ type: 'Tlcreate', fid: 2, name: 'new', flags: L_O_RDWR, mode: 0o644, gid: 0 }), 'Rlcreate');
    ok(await c.call({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('abcdef') }), 'Rwrite');
    const r = ok(await c.call({ type: 'Tread', fid: 2, offset: 2n, count: 100 }), 'Rread');
    assert.is(Buffer.from(r.data).toString(), 'cdef');
    const a = ok(await c.call({ type: 'Tgetattr', fid: 2, requestMask: 0x7ffn }), 'Rgetattr');
    assert.is(a.size, 6n);
    assert.ok(a.qid.version !== cr.qid.version, 'qid.version changes on write');
    ok(await walk(c, 1, 3, ['d']), 'Rwalk');
    isErr(await c.call({ type: 'Tlcreate', fid: 3, name: 'new', flags: L_O_RDWR, mode: 0o644, gid: 0 }));
    isErr(await c.call({ type: 'Tlcreate', fid: 3, name: '..', flags: L_O_RDWR, mode: 0o644, gid: 0 }));
    isErr(await c.call({ type: 'Tmkdir', dfid: 3, name: 'a/b', mode: 0o755, gid: 0 }));
    ok(await c.call({ type: 'Tmkdir', dfid: 3, name: 'sub', mode: 0o755, gid: 0 }), 'Rmkdir');
    ok(await c.call({ type: 'Trenameat', olddirfid: 3, oldname: 'new', newdirfid: 3, newname: 'renamed' }), 'Rrenameat');
    await missing(c, ['d', 'new']);
    ok(await walk(c, 1, 4, ['d', 'renamed']), 'Rwalk');
    const a2 = ok(await c.call({ type: 'Tgetattr', fid: 4, requestMask: 0x7ffn }), 'Rgetattr');
    assert.is(a2.qid.path, cr.qid.path);
    ok(await c.call({ type: 'Tsetattr', fid: 4, valid: 8, mode: 0, uid: 0, gid: 0, size: 2n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }), 'Rsetattr');
    assert.is(ok(await c.call({ type: 'Tgetattr', fid: 4, requestMask: 0x7ffn }), 'Rgetattr').size, 2n);
    isErr(await c.call({ type: 'Tunlinkat', dirfid: 3, name: 'renamed', flags: 0x200 })); // not a dir
    ok(await c.call({ type: 'Tunlinkat', dirfid: 3, name: 'renamed', flags: 0 }), 'Runlinkat');
    isErr(await c.call({ type: 'Tgetattr', fid: 4, requestMask: 0x7ffn })); // gone
    ok(await c.call({ type: 'Tunlinkat', dirfid: 3, name: 'sub', flags: 0x200 }), 'Runlinkat');
    // recreated file gets a new qid.path
    ok(await walk(c, 1, 5, ['d']), 'Rwalk');
    const cr2 = ok(await c.call({ type: 'Tlcreate', fid: 5, name: 'new', flags: L_O_RDWR, mode: 0o644, gid: 0 }), 'Rlcreate');
    assert.ok(cr2.qid.path !== cr.qid.path);
  });

  t('write: Trename of a fid into another directory, then Tremove removes it there (.L)', async () => {
    const c = await h.open();
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    ok(await c.call({ type: 'Tmkdir', dfid: 2, name: 'dest', mode: 0o755, gid: 0 }), 'Rmkdir');
    ok(await c.call({ type: 'Tlcreate', fid: 2, name: 'mover', flags: L_O_RDWR, mode: 0o644, gid: 0 }), 'Rlcreate');
    ok(await c.call({ type: 'Tclunk', fid: 2 }), 'Rclunk');
    ok(await walk(c, 1, 3, ['d', 'mover']), 'Rwalk');
    ok(await walk(c, 1, 4, ['d', 'dest']), 'Rwalk');
    const moved = await c.call({ type: 'Trename', fid: 3, dfid: 4, name: 'moved' });
    if (moved.type === 'Rlerror' && moved.ecode === EXDEV) {
      // A tree that can rename only within a directory (a relay to a 9P2000 server: wstat
      // renames in place) says so; the file stays where it was.
      ok(await c.call({ type: 'Tremove', fid: 3 }), 'Rremove');
      await missing(c, ['d', 'mover']);
      return;
    }
    ok(moved, 'Rrename');
    await missing(c, ['d', 'mover']);
    ok(await walk(c, 1, 5, ['d', 'dest', 'moved']), 'Rwalk');
    ok(await c.call({ type: 'Tclunk', fid: 5 }), 'Rclunk');
    ok(await c.call({ type: 'Tremove', fid: 3 }), 'Rremove'); // through its new parent
    await missing(c, ['d', 'dest', 'moved']);
    ok(await c.call({ type: 'Tclunk', fid: 4 }), 'Rclunk');
    ok(await walk(c, 1, 6, ['d']), 'Rwalk');
    ok(await c.call({ type: 'Tunlinkat', dirfid: 6, name: 'dest', flags: 0x200 }), 'Runlinkat');
  });

  // After a rename every fid on the file (or below a renamed directory) is on the file where it
  // now is: Tremove, Trename and ".." go through its new parent, never through a name that is
  // now another file's in the old one (decoys below take the old and the new names there).
  t('write: Trename: other fids of the file follow it; their Tremove/Trename never reach a file now under an old name (.L)', async () => {
    const c = await h.open();
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    ok(await c.call({ type: 'Tmkdir', dfid: 2, name: 'dest', mode: 0o755, gid: 0 }), 'Rmkdir');
    const mover = await mkfile(c, ['d'], 'mover', 'the mover');
    ok(await walk(c, 1, 3, ['d', 'mover']), 'Rwalk');
    ok(await walk(c, 1, 4, ['d', 'mover']), 'Rwalk'); // a second fid on the same file
    ok(await walk(c, 1, 5, ['d', 'dest']), 'Rwalk');
    const moved = await c.call({ type: 'Trename', fid: 3, dfid: 5, name: 'moved' });
    if (crossDevice(moved)) return;
    ok(moved, 'Rrename');
    const decoyOld = await mkfile(c, ['d'], 'mover', 'decoy');
    const decoyNew = await mkfile(c, ['d'], 'moved', 'decoy');
    assert.is((await qidOf(c, 4)).path, mover.path);
    ok(await h.lopen(c, 4, L_O_RDONLY), 'Rlopen');
    assert.is(Buffer.from(ok(await c.call({ type: 'Tread', fid: 4, offset: 0n, count: 100 }), 'Rread').data).toString(), 'the mover');
    // A rename through the second fid renames the moved file, in its new directory.
    ok(await c.call({ type: 'Trename', fid: 4, dfid: 5, name: 'again' }), 'Rrename');
    await missing(c, ['d', 'dest', 'moved']);
    assert.is((await present(c, ['d', 'dest', 'again'])).path, mover.path);
    assert.is((await present(c, ['d', 'moved'])).path, decoyNew.path);
    ok(await c.call({ type: 'Tremove', fid: 3 }), 'Rremove');
    await missing(c, ['d', 'dest', 'again']);
    assert.is((await present(c, ['d', 'mover'])).path, decoyOld.path);
    assert.is((await present(c, ['d', 'moved'])).path, decoyNew.path);
  });

  t('write: Trenameat of a file and of a directory: fids on them and inside the directory follow (.L)', async () => {
    const c = await h.open();
    const rootQid = await qidOf(c, 1);
    const child = await mkfile(c, ['d', 'e'], 'child', 'child data');
    ok(await walk(c, 1, 2, ['d', 'e']), 'Rwalk');
    ok(await walk(c, 1, 3, ['d', 'e', 'child']), 'Rwalk');
    ok(await walk(c, 1, 4, ['d', 'g']), 'Rwalk');
    ok(await walk(c, 1, 5, ['d']), 'Rwalk');
    const ren = await c.call({ type: 'Trenameat', olddirfid: 5, oldname: 'e', newdirfid: 1, newname: 'e2' });
    if (crossDevice(ren)) return;
    ok(ren, 'Rrenameat');
    ok(await c.call({ type: 'Trenameat', olddirfid: 5, oldname: 'g', newdirfid: 1, newname: 'g2' }), 'Rrenameat');
    ok(await c.call({ type: 'Tmkdir', dfid: 5, name: 'e', mode: 0o755, gid: 0 }), 'Rmkdir');
    const decoyDir = ok(await c.call({ type: 'Tmkdir', dfid: 5, name: 'e2', mode: 0o755, gid: 0 }), 'Rmkdir').qid;
    const decoyOld = await mkfile(c, ['d'], 'g', 'decoy');
    const decoyNew = await mkfile(c, ['d'], 'g2', 'decoy');
    // The child, through its fid and through the directory's.
    assert.is((await qidOf(c, 3)).path, child.path);
    ok(await h.lopen(c, 3, L_O_RDONLY), 'Rlopen');
    assert.is(Buffer.from(ok(await c.call({ type: 'Tread', fid: 3, offset: 0n, count: 100 }), 'Rread').data).toString(), 'child data');
    assert.is(ok(await walk(c, 2, 6, ['child']), 'Rwalk').wqids[0]!.path, child.path);
    assert.is(ok(await walk(c, 2, 7, ['..']), 'Rwalk').wqids[0]!.path, rootQid.path, '".." of the moved directory is its new parent');
    ok(await c.call({ type: 'Tclunk', fid: 6 }), 'Rclunk');
    ok(await c.call({ type: 'Tremove', fid: 3 }), 'Rremove');
    await missing(c, ['e2', 'child']);
    ok(await c.call({ type: 'Tremove', fid: 2 }), 'Rremove');
    await missing(c, ['e2']);
    assert.is((await present(c, ['d', 'e2'])).path, decoyDir.path);
    await present(c, ['d', 'e']);
    ok(await c.call({ type: 'Tremove', fid: 4 }), 'Rremove');
    await missing(c, ['g2']);
    assert.is((await present(c, ['d', 'g'])).path, decoyOld.path);
    assert.is((await present(c, ['d', 'g2'])).path, decoyNew.path);
  });

  // Fids of other connections are not re-pointed (their attach may not reach the new place);
  // what goes through their stale parent is refused rather than done to another file.
  t('write: a file renamed by another connection: Tremove/Trename of its fids there fail ESTALE, nothing else changes (.L)', async () => {
    const c1 = await h.open();
    const c2 = await h.open();
    const g = await present(c1, ['d', 'g']);
    ok(await walk(c2, 1, 2, ['d', 'g']), 'Rwalk');
    ok(await walk(c2, 1, 3, ['d', 'g']), 'Rwalk');
    ok(await walk(c2, 1, 4, ['d']), 'Rwalk');
    ok(await walk(c1, 1, 2, ['d']), 'Rwalk');
    const ren = await c1.call({ type: 'Trenameat', olddirfid: 2, oldname: 'g', newdirfid: 1, newname: 'g2' });
    if (crossDevice(ren)) return;
    ok(ren, 'Rrenameat');
    const decoy = await mkfile(c1, ['d'], 'g2', 'decoy');
    isErr(await c2.call({ type: 'Tremove', fid: 2 }), ESTALE);
    isErr(await c2.call({ type: 'Trename', fid: 3, dfid: 4, name: 'h' }), ESTALE);
    assert.is((await present(c1, ['g2'])).path, g.path);
    assert.is((await present(c1, ['d', 'g2'])).path, decoy.path);
    await missing(c1, ['d', 'h']);
    // A fresh walk on the second connection finds the file where it is.
    ok(await walk(c2, 1, 5, ['g2']), 'Rwalk');
    ok(await c2.call({ type: 'Tremove', fid: 5 }), 'Rremove');
    await missing(c1, ['g2']);
  });

  t('write: 9P2000 wstat rename: another fid of the file removes it under its new name, not the file now under the old one', async () => {
    const c = await h.open('9P2000');
    ok(await walk(c, 1, 2, ['d', 'g']), 'Rwalk');
    ok(await walk(c, 1, 3, ['d', 'g']), 'Rwalk');
    const g = await present(c, ['d', 'g']);
    const st = nullStat();
    st.name = 'g2';
    ok(await c.call({ type: 'Twstat', fid: 2, stat: st }), 'Rwstat');
    assert.is(ok(await c.call({ type: 'Tstat', fid: 3 }), 'Rstat').stat.name, 'g2');
    ok(await walk(c, 1, 4, ['d']), 'Rwalk');
    const decoy = ok(await c.call({ type: 'Tcreate', fid: 4, name: 'g', perm: 0o644, mode: ORDWR }), 'Rcreate').qid;
    ok(await c.call({ type: 'Tclunk', fid: 4 }), 'Rclunk');
    const again = nullStat();
    again.name = 'g3';
    ok(await c.call({ type: 'Twstat', fid: 3, stat: again }), 'Rwstat');
    assert.is((await present(c, ['d', 'g3'])).path, g.path);
    ok(await c.call({ type: 'Tremove', fid: 2 }), 'Rremove');
    await missing(c, ['d', 'g3']);
    assert.is((await present(c, ['d', 'g'])).path, decoy.path);
  });

  t('write: 9P2000 create/ORCLOSE/wstat/remove', async () => {
    const c = await h.open('9P2000');
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    ok(await c.call({ type: 'Tcreate', fid: 2, name: 'tmp', perm: 0o644, mode: ORDWR | ORCLOSE }), 'Rcreate');
    ok(await c.call({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('x') }), 'Rwrite');
    ok(await walk(c, 1, 3, ['d', 'tmp']), 'Rwalk');
    ok(await c.call({ type: 'Tclunk', fid: 3 }), 'Rclunk');
    ok(await c.call({ type: 'Tclunk', fid: 2 }), 'Rclunk');
    await missing(c, ['d', 'tmp']);
    ok(await walk(c, 1, 2, ['d']), 'Rwalk');
    isErr(await c.call({ type: 'Tcreate', fid: 2, name: '.', perm: 0o644, mode: ORDWR }));
    ok(await c.call({ type: 'Tcreate', fid: 2, name: 'w', perm: 0o644, mode: ORDWR }), 'Rcreate');
    ok(await c.call({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('hello world') }), 'Rwrite');
    const st = nullStat();
    st.length = 5n;
    st.name = 'w2';
    ok(await c.call({ type: 'Twstat', fid: 2, stat: st }), 'Rwstat');
    const s2 = ok(await c.call({ type: 'Tstat', fid: 2 }), 'Rstat').stat;
    assert.is(s2.name, 'w2');
    assert.is(s2.length, 5n);
    // a wstat that cannot be done changes nothing
    const bad = nullStat();
    bad.mode = (DMDIR | 0o755) >>> 0;
    bad.length = 1n;
    isErr(await c.call({ type: 'Twstat', fid: 2, stat: bad }));
    assert.is(ok(await c.call({ type: 'Tstat', fid: 2 }), 'Rstat').stat.length, 5n);
    ok(await c.call({ type: 'Tremove', fid: 2 }), 'Rremove');
    await missing(c, ['d', 'w2']);
    // directory create
    ok(await walk(c, 1, 4, ['d']), 'Rwalk');
    ok(await c.call({ type: 'Tcreate', fid: 4, name: 'sub', perm: (DMDIR | 0o755) >>> 0, mode: OREAD }), 'Rcreate');
    assert.ok((ok(await c.call({ type: 'Tstat', fid: 4 }), 'Rstat').stat.mode & DMDIR) !== 0);
  });

  for (const dialect of ['9P2000', '9P2000.L'] as const) {
    t(`client (${dialect}): writeFile, mkdir, removePath`, async () => {
      const cl = await h.client(dialect);
      await cl.writeFile('d/out.txt', 'first version, longer');
      await cl.writeFile('d/out.txt', 'second');
      assert.is((await cl.readFile('d/out.txt')).toString(), 'second');
      await cl.mkdir('d/m');
      await cl.writeFile('d/m/x', Buffer.alloc(200_000, 7));
      assert.is((await cl.readFile('d/m/x')).length, 200_000);
      assert.is((await cl.statPath('d/m/x')).size, 200_000n);
      await cl.removePath('d/m/x');
      await cl.removePath('d/m');
      assert.equal((await cl.ls('d')).map((e) => e.name).sort(), ['e', 'g', 'out.txt']);
    });
  }
}
