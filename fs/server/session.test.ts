// Session behaviours that need a tree that blocks, fails or changes: Tflush ordering, clunk and
// Tversion cancelling blocked reads, duplicate tags, faults, removed nodes, limits, auth, close.
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { test } from 'uvu';
import { ECANCELED } from '../codec/constants.ts';
import * as assert from 'uvu/assert';
import { EINTR, EINVAL, EIO, EMFILE, ESTALE, L_O_RDONLY, L_O_WRONLY, NOFID, NOTAG, OREAD, OWRITE, encode } from '../codec/index.ts';
import type { Msg } from '../codec/index.ts';
import { Client } from '../client/client.ts';
import { FsError, RemoteError } from '../errors.ts';
import { ctl, dir, file, root, stream } from '../tree/synthetic.ts';
import type { SynDir, SynStream } from '../tree/synthetic.ts';
import { errorOf, RawConn, withDeadline } from '../testing/raw.ts';
import { NineServer } from './server.ts';
import type { ServerOptions } from './server.ts';
import type { AuthConversation } from './auth.ts';
import { waitFor } from '../../test/helpers/deadline.ts';

interface Fixture { server: NineServer; port: number; tree: SynDir; log: SynStream; faults: unknown[]; conns: RawConn[] }

function makeTree(): { tree: SynDir; log: SynStream } {
  const log = stream('log');
  const tree = root([
    log,
    log.follower(), // log.follow: reads at the end wait (the plain log never blocks)
    file('slow', { read: () => new Promise<string>((r) => setTimeout(() => r('late\n'), 150)) }),
    file('stuck', { read: () => new Promise<string>(() => undefined) }),
    file('boom', { read: () => { throw new TypeError('a bug in a module'); } }),
    file('bad', { read: () => { throw new Error('nothing to see'); } }),
    ctl('ctl', (cmd) => {
      if (cmd === 'ping') return 'pong\n';
      if (cmd === 'fail') throw new Error('command failed: fail');
    }),
    dir('sub', [file('x', { read: () => 'x1\n' })]),
  ]);
  return { tree, log };
}

async function withServer(opts: Partial<ServerOptions>, body: (f: Fixture) => Promise<void>): Promise<void> {
  const { tree, log } = makeTree();
  const faults: unknown[] = [];
  const server = new NineServer({ attach: () => tree, onError: (e) => faults.push(e), ...opts });
  const conns: RawConn[] = [];
  try {
    const { port } = await server.listen(0, '127.0.0.1');
    await body({ server, port, tree, log, faults, conns });
  } finally {
    for (const c of conns) c.close();
    await withDeadline(server.close(), 5000, 'server.close()');
  }
}

async function session(f: Fixture, dialect: '9P2000' | '9P2000.L' = '9P2000.L'): Promise<RawConn> {
  const c = await RawConn.negotiated(f.port, dialect);
  f.conns.push(c);
  const r = await c.call(dialect === '9P2000' ? { type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '' }
    : { type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
  assert.is(r.type, 'Rattach');
  return c;
}

async function openFile(c: RawConn, fid: number, path: string[], write = false): Promise<void> {
  assert.is((await c.call({ type: 'Twalk', fid: 1, newfid: fid, wnames: path })).type, 'Rwalk');
  const r = c.dialect === '9P2000.L'
    ? await c.call({ type: 'Tlopen', fid, flags: write ? L_O_WRONLY : L_O_RDONLY })
    : await c.call({ type: 'Topen', fid, mode: write ? OWRITE : OREAD });
  assert.ok(r.type === 'Rlopen' || r.type === 'Ropen', `open ${path.join('/')}: ${String(errorOf(r))}`);
}


const read = (tag: number, fid: number): Msg => ({ type: 'Tread', tag, fid, offset: 0n, count: 1000 });

test('Tflush of a blocked read: the read is never answered, Rflush is', () => withServer({}, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['log.follow']);
  c.send(read(10, 2));
  await waitFor('the read to block', () => f.log.blockedReaders === 1);
  const r = await c.rpc({ type: 'Tflush', tag: 11, oldtag: 10 });
  assert.is(r.type, 'Rflush');
  assert.ok(await c.silent(50, 10), 'the flushed read got no reply');
  assert.is(f.log.blockedReaders, 0);
  // tag 10 is free again
  f.log.append('line one');
  const r2 = await c.rpc(read(10, 2));
  assert.is(Buffer.from((r2 as { data: Uint8Array }).data).toString(), 'line one\n');
}));

test('Tflush of a request that completes anyway: its reply comes before the Rflush', () => withServer({}, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['slow']);
  c.send(read(20, 2));
  c.send({ type: 'Tflush', tag: 21, oldtag: 20 });
  const first = await c.next('the first reply');
  const second = await c.next('the second reply');
  assert.is(first.tag, 20);
  assert.is(first.type, 'Rread');
  assert.is(second.type, 'Rflush');
  assert.is(second.tag, 21);
}));

test('Tflush of a handler that ignores its signal: Rflush after the flush timeout, never the reply', () => withServer({ flushTimeoutMs: 150 }, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['stuck']);
  c.send(read(30, 2));
  await new Promise((r) => setTimeout(r, 20));
  const t0 = Date.now();
  const r = await c.rpc({ type: 'Tflush', tag: 31, oldtag: 30 });
  assert.is(r.type, 'Rflush');
  assert.ok(Date.now() - t0 >= 100, 'Rflush waited for the handler');
  assert.ok(await c.silent(50, 30));
}));

test('clunk cancels a blocked read (answered EINTR) and the fid is free', () => withServer({}, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['log.follow']);
  c.send(read(40, 2));
  await waitFor('the read to block', () => f.log.blockedReaders === 1);
  const cl = await c.rpc({ type: 'Tclunk', tag: 41, fid: 2 });
  assert.is(cl.type, 'Rclunk');
  assert.is(errorOf(await c.reply(40, 'the cancelled read')), EINTR);
  assert.is(f.log.blockedReaders, 0);
}));

test('a duplicate in-flight tag is an error; the original is still answered', () => withServer({}, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['log.follow']);
  c.send(read(50, 2));
  await waitFor('the read to block', () => f.log.blockedReaders === 1);
  const dup = await c.rpc({ type: 'Tgetattr', tag: 50, fid: 1, requestMask: 0x7ffn });
  assert.ok(errorOf(dup) !== undefined, 'duplicate tag answered with an error');
  f.log.append('hi');
  const r = await c.reply(50, 'the original read');
  assert.is(r.type, 'Rread');
}));

test('a second Tversion aborts outstanding requests (never answered) and clunks fids', () => withServer({}, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['log.follow']);
  c.send(read(60, 2));
  await waitFor('the read to block', () => f.log.blockedReaders === 1);
  const v = await c.rpc({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' });
  assert.is(v.type, 'Rversion');
  await waitFor('the blocked read to be cancelled', () => f.log.blockedReaders === 0);
  assert.ok(await c.silent(50, 60));
  assert.ok(errorOf(await c.call({ type: 'Tclunk', fid: 2 })) !== undefined);
}));

test('a fault in a tree handler answers EIO and the connection carries on', () => withServer({}, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['boom']);
  // SynFile turns the callback's Error into its message; a raw tree fault is tested below.
  const r = await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 100 });
  assert.is(errorOf(r), EIO);
  const c9 = await session(f, '9P2000');
  await openFile(c9, 2, ['bad']);
  assert.is(errorOf(await c9.call({ type: 'Tread', fid: 2, offset: 0n, count: 100 })), 'nothing to see');
  assert.is((await c.call({ type: 'Tgetattr', fid: 1, requestMask: 0x7ffn })).type, 'Rgetattr');
}));

test('a tree method throwing a non-NineError is a fault: EIO, onError told, nothing dies', async () => {
  const faults: unknown[] = [];
  const tree = root([file('f', { read: () => 'x' })]);
  const broken = Object.assign(Object.create(tree) as SynDir, { lookup: () => { throw new RangeError('tree bug'); } });
  const server = new NineServer({ attach: () => broken, onError: (e) => faults.push(e) });
  const { port } = await server.listen();
  const c = await RawConn.negotiated(port, '9P2000');
  try {
    await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '' });
    const r = await c.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: ['f'] });
    assert.is(errorOf(r), 'i/o error');
    assert.is(faults.length, 1);
    assert.is((faults[0] as FsError).code, 'CHS_ERR_9P_TREE_FAULT');
    assert.instance((faults[0] as FsError).cause, RangeError);
    assert.is((await c.call({ type: 'Tstat', fid: 1 })).type, 'Rstat');
  } finally {
    c.close();
    await server.close();
  }
});

test('removed nodes: open fids get ESTALE, blocked stream reads wake with ESTALE, a replacement is served fresh', () => withServer({}, async (f) => {
  const c = await session(f);
  await openFile(c, 2, ['sub', 'x']);
  await openFile(c, 3, ['log.follow']);
  c.send(read(70, 3));
  await waitFor('the read to block', () => f.log.blockedReaders === 1);
  f.tree.remove('sub');
  f.tree.remove('log');
  assert.is(errorOf(await c.reply(70, 'the blocked read of a removed stream')), ESTALE);
  assert.is(errorOf(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 10 })), ESTALE);
  assert.is(errorOf(await c.call({ type: 'Tgetattr', fid: 2, requestMask: 0x7ffn })), ESTALE);
  f.tree.add(dir('sub', [file('x', { read: () => 'x2\n' })]));
  assert.is(errorOf(await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 10 })), ESTALE);
  await openFile(c, 4, ['sub', 'x']);
  const r = await c.call({ type: 'Tread', fid: 4, offset: 0n, count: 10 });
  assert.is(Buffer.from((r as { data: Uint8Array }).data).toString(), 'x2\n');
}));

test('ctl: commands answer through reads, errors become the 9P error text', () => withServer({}, async (f) => {
  const c = await session(f, '9P2000');
  assert.is((await c.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: ['ctl'] })).type, 'Rwalk');
  assert.is((await c.call({ type: 'Topen', fid: 2, mode: 2 })).type, 'Ropen');
  assert.is((await c.call({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('ping\n') })).type, 'Rwrite');
  const r = await c.call({ type: 'Tread', fid: 2, offset: 0n, count: 100 });
  assert.is(Buffer.from((r as { data: Uint8Array }).data).toString(), 'pong\n');
  assert.is(errorOf(await c.call({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('fail') })), 'command failed: fail');
  const l = await session(f);
  await openFile(l, 2, ['ctl'], true);
  assert.is(errorOf(await l.call({ type: 'Twrite', fid: 2, offset: 0n, data: Buffer.from('fail') })), EINVAL);
}));

test('client: the follow view reads history, answers 0 right after data, then blocks; AbortSignal flushes the read', () => withServer({}, async (f) => {
  const cl = await Client.connect({ port: f.port });
  try {
    await cl.attach();
    f.log.append('old line');
    const fid = await cl.walkPath('log.follow');
    await cl.open(fid, 'r');
    assert.is(Buffer.from(await cl.read(fid, 0, 1000)).toString(), 'old line\n');
    assert.is((await cl.read(fid, 9, 1000)).length, 0, 'right after data: 0 bytes at once');
    const pending = cl.read(fid, 9, 1000);
    await waitFor('the client read to block', () => f.log.blockedReaders === 1);
    f.log.append('new line');
    assert.is(Buffer.from(await pending).toString(), 'new line\n');
    assert.is((await cl.read(fid, 18, 1000)).length, 0);
    const ac = new AbortController();
    const blocked = cl.read(fid, 18, 1000, ac.signal);
    await waitFor('the second read to block', () => f.log.blockedReaders === 1);
    ac.abort();
    try {
      await blocked;
      assert.unreachable('aborted read resolved');
    } catch (err) {
      assert.instance(err, FsError);
      assert.is((err as FsError).code, 'CHS_ERR_9P_ABORTED');
    }
    await waitFor('the server to drop the flushed read', () => f.log.blockedReaders === 0);
    f.log.append('after');
    assert.is(Buffer.from(await cl.read(fid, 18, 1000)).toString(), 'after\n');
    await cl.clunk(fid);
  } finally {
    await cl.close();
  }
}));

test('server.close() answers outstanding requests and closes; the client then rejects with CHS_ERR_9P_CLOSED', async () => {
  const { tree, log } = makeTree();
  const server = new NineServer({ attach: () => tree });
  const { port } = await server.listen();
  const cl = await Client.connect({ port });
  try {
    await cl.attach();
    const fid = await cl.walkPath('log.follow');
    await cl.open(fid, 'r');
    const pending = cl.read(fid, 0, 100).then(() => undefined, (err: unknown) => err);
    await waitFor('the read to block', () => log.blockedReaders === 1);
    await withDeadline(server.close(), 3000, 'server.close()');
    const err = await pending;
    assert.instance(err, RemoteError, 'the blocked read was answered with an error');
    // .L's Rlerror carries only the errno (ECANCELED); the client shows the system's text for it
    assert.is((err as RemoteError).errno, ECANCELED);
    await withDeadline(cl.closed, 3000, 'the client to see the close');
    try {
      await cl.read(fid, 0, 100);
      assert.unreachable('read after close');
    } catch (err) {
      assert.is((err as FsError).code, 'CHS_ERR_9P_CLOSED');
    }
  } finally {
    await cl.close();
    await server.close();
  }
});

test('client: a dropped connection rejects every request in flight with CHS_ERR_9P_CLOSED', async () => {
  // A fake server that negotiates, then hangs up on the first request.
  const fake: Server = createServer((s) => {
    let n = 0;
    s.on('data', (d: Buffer) => {
      if (n++ === 0) s.write(encode({ type: 'Rversion', tag: d.readUInt16LE(5), msize: 8192, version: '9P2000.L' }));
      else setTimeout(() => s.destroy(), 30);
    });
  });
  await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
  const port = (fake.address() as { port: number }).port;
  const cl = await Client.connect({ port, msize: 8192 });
  try {
    const all = await Promise.allSettled([cl.attach(), cl.getattr(1), cl.getattr(2)]);
    for (const r of all) {
      assert.is(r.status, 'rejected');
      assert.is(((r as PromiseRejectedResult).reason as FsError).code, 'CHS_ERR_9P_CLOSED');
    }
  } finally {
    await cl.close();
    await new Promise<void>((r) => fake.close(() => r()));
  }
});

test('limits: connections beyond maxConnections are closed; fids beyond maxFids are EMFILE', () => withServer({ maxConnections: 2, maxFids: 3 }, async (f) => {
  const a = await session(f);
  await session(f);
  const c = await RawConn.open(f.port);
  f.conns.push(c);
  await c.waitClosed('the third connection to be refused');
  assert.is(f.server.refused, 1);
  assert.is((await a.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: [] })).type, 'Rwalk');
  assert.is((await a.call({ type: 'Twalk', fid: 1, newfid: 3, wnames: [] })).type, 'Rwalk');
  assert.is(errorOf(await a.call({ type: 'Twalk', fid: 1, newfid: 4, wnames: [] })), EMFILE);
}));

test('auth hook: a provider gates attach through Tauth', async () => {
  const { tree } = makeTree();
  const secret = 's3cret';
  const server = new NineServer({
    attach: () => tree,
    auth: {
      begin(): AuthConversation {
        let got = '';
        return {
          read: () => new Uint8Array(0),
          write: (d) => { got += Buffer.from(d).toString(); return d.length; },
          result: () => (got === secret ? { uname: 'friend' } : undefined),
        };
      },
    },
  });
  const { port } = await server.listen();
  const c = await RawConn.negotiated(port);
  try {
    assert.ok(errorOf(await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 })) !== undefined);
    assert.is((await c.call({ type: 'Tauth', afid: 9, uname: 'u', aname: '', nUname: 0 })).type, 'Rauth');
    assert.ok(errorOf(await c.call({ type: 'Tattach', fid: 1, afid: 9, uname: 'u', aname: '', nUname: 0 })) !== undefined);
    assert.is((await c.call({ type: 'Twrite', fid: 9, offset: 0n, data: Buffer.from(secret) })).type, 'Rwrite');
    assert.is((await c.call({ type: 'Tattach', fid: 1, afid: 9, uname: 'u', aname: '', nUname: 0 })).type, 'Rattach');
  } finally {
    c.close();
    await server.close();
  }
});

test('9P2000.u: numeric ids on attach, stat carries the .u tail, errors carry an errno', () => withServer({}, async (f) => {
  const c = await RawConn.negotiated(f.port, '9P2000.u');
  f.conns.push(c);
  assert.is((await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 1000 })).type, 'Rattach');
  const st = await c.call({ type: 'Tstat', fid: 1 });
  assert.is(st.type, 'Rstat');
  assert.ok((st as { stat: { dotu?: unknown } }).stat.dotu !== undefined);
  const e = await c.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: ['nope'] });
  assert.is(e.type, 'Rerror');
  assert.equal([(e as { ename: string }).ename, (e as { errno?: number }).errno], ['file does not exist', 2]);
  const cl = await Client.connect({ port: f.port, version: '9P2000.u' });
  try {
    await cl.attach();
    assert.is((await cl.readFile('sub/x')).toString(), 'x1\n');
    assert.ok((await cl.ls('/')).some((e) => e.name === 'ctl'));
  } finally {
    await cl.close();
  }
}));

test.run();
