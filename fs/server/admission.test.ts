// Admission under hostile input (issue "Hostile input"): the handshake deadline, the cap per
// address, the operator's reserve and eviction of unfinished handshakes, idle reaping, and the
// reason a refused client reads. Real sockets on loopback; 127.0.0.2/.3 stand for other peers
// (Linux routes all of 127/8 to lo). Every wait has a deadline; every socket is closed after.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decode, encode, FrameSplitter, NOFID, NOTAG } from '../codec/index.ts';
import type { Msg } from '../codec/index.ts';
import { Client } from '../client/client.ts';
import { file, root } from '../tree/synthetic.ts';
import { RawConn, withDeadline } from '../testing/raw.ts';
import { NineServer } from './server.ts';
import type { ServerOptions } from './server.ts';
import { isLoopback, normalizeAddress, RateLimitedLog } from './admission.ts';
import { waitFor } from '../../test/helpers/deadline.ts';

/** A raw connection from a chosen local address, speaking 9P2000.u. */
class Peer {
  readonly frames: Msg[] = [];
  readonly closed: Promise<void>;
  isClosed = false;
  private readonly splitter = new FrameSplitter(1 << 20);
  private wake: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    this.closed = new Promise((resolve) => socket.once('close', () => { this.isClosed = true; this.wake?.(); resolve(); }));
    socket.on('error', () => undefined);
    socket.on('data', (c: Buffer) => {
      for (const f of this.splitter.push(c)) this.frames.push(decode(f, '9P2000.u'));
      this.wake?.();
    });
  }

  static async open(port: number, localAddress: string, all: Peer[]): Promise<Peer> {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    const p = new Peer(socket);
    all.push(p);
    await withDeadline(new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }), 3000, `connect from ${localAddress}`);
    return p;
  }

  /** Sends Tversion 9P2000.u; resolves with the first frame back, or undefined if the connection closed. */
  async version(): Promise<Msg | undefined> {
    this.socket.write(encode({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.u' }));
    return this.next('the answer to Tversion');
  }

  async next(what: string, ms = 3000): Promise<Msg | undefined> {
    const end = Date.now() + ms;
    while (this.frames.length === 0 && !this.isClosed) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`nothing within ${ms} ms while waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(t); resolve(); };
      });
    }
    return this.frames.shift();
  }

  async waitClosed(what: string, ms = 3000): Promise<void> { await withDeadline(this.closed, ms, what); }
  close(): void { this.socket.destroy(); }
}

interface Fixture { server: NineServer; port: number; peers: Peer[]; raws: RawConn[]; clients: Client[]; lines: string[] }

async function withServer(opts: Partial<ServerOptions>, body: (f: Fixture) => Promise<void>): Promise<void> {
  const tree = root([file('hello', { read: () => 'hi\n' })]);
  const lines: string[] = [];
  const server = new NineServer({ attach: () => tree, log: (l) => lines.push(l), ...opts });
  const f: Fixture = { server, port: 0, peers: [], raws: [], clients: [], lines };
  try {
    f.port = (await server.listen(0, '127.0.0.1')).port;
    await body(f);
  } finally {
    for (const p of f.peers) p.close();
    for (const r of f.raws) r.close();
    await Promise.allSettled(f.clients.map((c) => c.close()));
    await withDeadline(server.close(), 5000, 'server.close()');
  }
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function negotiatedPeer(f: Fixture, from: string): Promise<Peer> {
  const p = await Peer.open(f.port, from, f.peers);
  const r = await p.version();
  assert.is(r?.type, 'Rversion', `Tversion from ${from}`);
  return p;
}

async function readHello(f: Fixture): Promise<string> {
  const c = await Client.connect({ port: f.port, version: '9P2000.u', timeoutMs: 3000 });
  f.clients.push(c);
  await c.attach();
  return (await c.readFile('/hello')).toString();
}

test('addresses: loopback and v4-mapped forms', () => {
  assert.is(normalizeAddress('::ffff:127.0.0.2'), '127.0.0.2');
  assert.is(normalizeAddress(undefined), '?');
  assert.ok(isLoopback('127.0.0.1') && isLoopback('127.9.8.7') && isLoopback('::1'));
  assert.not.ok(isLoopback('10.0.0.1') || isLoopback('::2') || isLoopback('128.0.0.1'));
});

test('the refusal log says each reason once per interval and counts the rest', () => {
  const lines: string[] = [];
  const log = new RateLimitedLog((l) => lines.push(l), 1000);
  log.say('a', 'A', 0);
  log.say('a', 'A', 10);
  log.say('a', 'A', 20);
  log.say('b', 'B', 30);
  log.say('a', 'A', 1500);
  assert.equal(lines, ['A', 'B', 'A (and 2 more like it since the last report)']);
});

test('connections that never send Tversion are closed after handshakeMs; a negotiated one stays', () => withServer({ handshakeMs: 300, idleMs: 0 }, async (f) => {
  const silent = await Promise.all([1, 2, 3, 4, 5].map(() => Peer.open(f.port, '127.0.0.1', f.peers)));
  const ok = await RawConn.negotiated(f.port, '9P2000.L');
  f.raws.push(ok);
  const started = Date.now();
  await Promise.all(silent.map((p, i) => p.waitClosed(`silent socket ${i} closed`, 3000)));
  assert.ok(Date.now() - started >= 200, 'not closed before the deadline');
  assert.is(f.server.timedOut, 5);
  await sleep(400);
  assert.not.ok(ok.isClosed, 'the negotiated connection was closed');
  assert.is(f.server.connections, 1);
  assert.is(f.lines.filter((l) => l.includes('no Tversion')).length, 1, `one log line for five: ${f.lines.join(' | ')}`);
}));

test('with an auth provider, the handshake includes Tattach', () => withServer({
  handshakeMs: 300, idleMs: 0,
  auth: { begin: () => { throw new Error('no auth here'); }, allowUnauthenticated: () => true },
}, async (f) => {
  const versionOnly = await RawConn.negotiated(f.port, '9P2000.L');
  const attached = await RawConn.negotiated(f.port, '9P2000.L');
  f.raws.push(versionOnly, attached);
  const r = await attached.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
  assert.is(r.type, 'Rattach');
  await versionOnly.waitClosed('the connection without Tattach closed', 3000);
  assert.ok(f.lines.some((l) => l.includes('no Tattach')), f.lines.join(' | '));
  assert.not.ok(attached.isClosed);
  assert.is((await attached.call({ type: 'Tclunk', fid: 1 })).type, 'Rclunk');
}));

test('the cap filled by silent loopback sockets: a real client evicts the oldest and reads a file', () => withServer({ maxConnections: 4, handshakeMs: 10_000 }, async (f) => {
  const silent: Peer[] = [];
  for (let i = 0; i < 4; i++) silent.push(await Peer.open(f.port, '127.0.0.1', f.peers));
  await waitFor('four connections served', () => f.server.connections === 4);
  assert.is(await withDeadline(readHello(f), 5000, 'reading /hello'), 'hi\n');
  await silent[0]!.waitClosed('the oldest silent socket evicted');
  assert.is(f.server.evicted, 1);
  assert.is(f.server.refused, 0);
  assert.not.ok(silent[3]!.isClosed);
}));

test('strangers leave the operator its reserve; a refused stranger reads why', () => withServer({
  maxConnections: 6, operatorReserve: 2, maxPerAddress: 10, isOperator: (a) => a === '127.0.0.1',
}, async (f) => {
  for (let i = 0; i < 4; i++) await negotiatedPeer(f, '127.0.0.2');
  const extra = await Peer.open(f.port, '127.0.0.2', f.peers);
  const r = await extra.version();
  assert.is(r?.type, 'Rerror');
  if (r?.type === 'Rerror') {
    assert.match(r.ename, /CHS_ERR_9P_REFUSED: too many connections \(limit 6, 2 reserved for the operator\)/);
    assert.is(r.errno, 111);
  }
  await extra.waitClosed('the refused stranger closed');
  assert.is(f.server.refused, 1);
  assert.is(await withDeadline(readHello(f), 5000, 'the operator reading /hello'), 'hi\n');
  assert.is(await withDeadline(readHello(f), 5000, 'a second operator client'), 'hi\n');
  assert.ok(f.lines.some((l) => l.includes('too many connections')), f.lines.join(' | '));
}));

test('the per-address cap refuses the extra connection from one address, not from another', () => withServer({ maxPerAddress: 2 }, async (f) => {
  await negotiatedPeer(f, '127.0.0.2');
  await negotiatedPeer(f, '127.0.0.2');
  const extra = await Peer.open(f.port, '127.0.0.2', f.peers);
  const r = await extra.version();
  assert.is(r?.type, 'Rerror');
  if (r?.type === 'Rerror') assert.match(r.ename, /too many connections from 127\.0\.0\.2 \(limit 2\)/);
  await extra.waitClosed('the extra connection closed');
  await negotiatedPeer(f, '127.0.0.3');
  assert.is(f.server.refused, 1);
  // An address at its cap with an unfinished handshake makes room by closing that one instead.
  const silent = await Peer.open(f.port, '127.0.0.3', f.peers);
  await waitFor('the silent one served', () => f.server.connections === 4);
  await negotiatedPeer(f, '127.0.0.3');
  await silent.waitClosed('the unfinished one evicted');
  assert.is(f.server.evicted, 1);
}));

test('a refused connection that sends nothing is closed', () => withServer({ maxPerAddress: 1, maxConnections: 8, handshakeMs: 300 }, async (f) => {
  await negotiatedPeer(f, '127.0.0.2');
  const extra = await Peer.open(f.port, '127.0.0.2', f.peers);
  await extra.waitClosed('the silent refused connection closed', 3000);
  assert.is(f.server.refused, 1);
}));

test('idle reaping closes a negotiated connection without fids, not one holding a fid', () => withServer({ idleMs: 300, handshakeMs: 10_000 }, async (f) => {
  const idle = await RawConn.negotiated(f.port, '9P2000.L');
  const holding = await RawConn.negotiated(f.port, '9P2000.L');
  f.raws.push(idle, holding);
  assert.is((await holding.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).type, 'Rattach');
  await idle.waitClosed('the idle connection reaped', 3000);
  assert.is(f.server.reaped, 1);
  await sleep(400);
  assert.not.ok(holding.isClosed, 'the connection holding a fid was reaped');
  assert.is((await holding.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: ['hello'] })).type, 'Rwalk');
}));

test.run();
