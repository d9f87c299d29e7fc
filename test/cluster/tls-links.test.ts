// Node-to-node 9P over TLS 1.3 (base/tls, fs/server's sniffing accept path, Client.connect's tls):
// real sockets on loopback, real TLS. A good link reads a file and the server records the
// client's key; a server presenting another key, or a relay in the middle presenting its own, is
// refused naming both keys; a client key the server does not admit, or no client certificate,
// is refused; plaintext keeps working from loopback on the same port, and is refused from an
// address the server's policy treats as another machine (127.0.0.2 with isLocal narrowed to
// 127.0.0.1: a real second source address, the predicate is what makes it "remote").
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Client } from '../../fs/client/client.ts';
import { encode, decode, FrameSplitter } from '../../fs/codec/index.ts';
import { NineServer, type ServerTls } from '../../fs/server/server.ts';
import { memfs, type MemFile } from '../../fs/tree/memfs.ts';
import { RemoteTree } from '../../fs/tree/remote.ts';
import { dialOptions } from '../../base/tls/dial.ts';
import { rejection, testNode, within, type TestNode } from '../helpers/tls-nodes.ts';

const closers: Array<() => Promise<unknown>> = [];
const later = (fn: () => Promise<unknown>): void => { closers.push(fn); };
test.after.each(async () => { for (const fn of closers.splice(0).reverse()) await fn().catch(() => undefined); });

let A: TestNode, B: TestNode, C: TestNode;
test.before(async () => { [A, B, C] = await Promise.all([testNode(), testNode(), testNode()]); });

const owner = { nUid: 0, nGid: 0, uid: 'u' };
async function serveA(tls: Partial<ServerTls> = {}, host = '127.0.0.1', handshakeMs = 3000): Promise<{ server: NineServer; port: number }> {
  const fs = memfs();
  (fs.create({ name: 'hello', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('hello over tls\n'));
  const server = new NineServer({ attach: () => fs, tls: { credentials: A.creds, ...tls }, handshakeMs });
  const addr = await server.listen(0, host);
  later(() => server.close());
  return { server, port: addr.port };
}

async function dial(port: number, me: TestNode, expectKey: string | undefined, host = '127.0.0.1'): Promise<Client> {
  const c = await within(Client.connect({ host, port, timeoutMs: 3000, ...(expectKey ? { tls: { credentials: me.creds, expectKey } } : {}) }), 5000, `connect to ${port}`);
  later(() => c.close());
  return c;
}

test('a pinned TLS link reads a file; the server records the client key', async () => {
  const { server, port } = await serveA();
  const c = await dial(port, B, A.key);
  await c.attach({ uname: 'u' });
  assert.is((await c.readFile('hello')).toString(), 'hello over tls\n');
  assert.equal(server.peers(), [{ address: '127.0.0.1', key: B.key }]);
});

test('a RemoteTree (a graft) over TLS pins the remote key', async () => {
  const { port } = await serveA();
  const rt = await within(RemoteTree.connect({ port, reconnect: false, timeoutMs: 3000, tls: { credentials: B.creds, expectKey: A.key } }), 5000, 'graft');
  later(() => rt.close());
  assert.is(rt.state, 'connected');
  const bad = await rejection(RemoteTree.connect({ port, reconnect: false, timeoutMs: 3000, tls: { credentials: B.creds, expectKey: C.key } }), 'graft pinned to C');
  assert.is(bad.code, 'CHS_ERR_TLS_PEER_KEY');
});

test('a server presenting another key is refused, naming the expected and the presented keys', async () => {
  const { server, port } = await serveA();
  const err = await rejection(dial(port, B, C.key), 'dial pinned to C');
  assert.is(err.code, 'CHS_ERR_TLS_PEER_KEY');
  assert.ok(err.message.includes(`expected key ${C.key}`), err.message);
  assert.ok(err.message.includes(`presented key ${A.key}`), err.message);
  await within((async () => { while (server.connections > 0) await new Promise((r) => setTimeout(r, 10)); })(), 2000, 'the refused link to close');
});

test('a relay in the middle presenting its own key is refused', async () => {
  const { port: real } = await serveA();
  // The relay terminates TLS with its own certificate (C) and opens its own TLS link to A.
  const relay = createTlsServer({ key: C.creds.key, cert: C.creds.cert, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: false }, (down: TLSSocket) => {
    const up = tlsConnect({ host: '127.0.0.1', port: real, ...dialOptions(C.creds) });
    down.pipe(up).pipe(down);
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  later(() => new Promise((r) => relay.close(r)));
  const relayPort = (relay.address() as { port: number }).port;
  const err = await rejection(dial(relayPort, B, A.key), 'dial through the relay');
  assert.is(err.code, 'CHS_ERR_TLS_PEER_KEY');
  assert.ok(err.message.includes(`expected key ${A.key}`) && err.message.includes(`presented key ${C.key}`), err.message);
  // A relay that only forwards bytes cannot read them and the pinned link goes through.
  const pipe = createServer((down: Socket) => { const up = netConnect(real, '127.0.0.1'); down.pipe(up).pipe(down); up.on('error', () => down.destroy()); down.on('error', () => up.destroy()); });
  await new Promise<void>((r) => pipe.listen(0, '127.0.0.1', r));
  later(() => new Promise((r) => { pipe.close(r); }));
  const ok = await dial((pipe.address() as { port: number }).port, B, A.key);
  await ok.attach({ uname: 'u' });
  assert.is((await ok.readFile('hello')).toString(), 'hello over tls\n');
});

test('the server refuses a client key it does not admit, and a TLS client without a certificate', async () => {
  const { server, port } = await serveA({ authorize: (key) => (key === B.key ? undefined : 'not in the trust list') });
  const c = await dial(port, B, A.key);
  await c.attach({ uname: 'u' });
  const err = await rejection((async () => { const x = await dial(port, C, A.key); await x.attach({ uname: 'u' }); })(), 'C attaching');
  assert.match(err.message, /connection refused/, err.message); // told in its Tversion's answer (9P2000.L's Rlerror: ECONNREFUSED; .u carries the text, test/cli/tls-key)
  const noCert = tlsConnect({ host: '127.0.0.1', port, minVersion: 'TLSv1.3', rejectUnauthorized: false });
  later(async () => noCert.destroy());
  await within(new Promise<void>((r) => { noCert.on('close', () => r()); noCert.on('error', () => undefined); }), 3000, 'the server to close a TLS link without a client certificate');
  assert.ok(server.tlsRefused >= 2, `tlsRefused ${server.tlsRefused}`);
  assert.equal(server.peers().map((p) => p.key), [B.key]);
});

/** Sends a 9P2000 Tversion in plaintext from `localAddress`; resolves with the reply (or null when closed without one). */
function plainVersion(port: number, localAddress: string): Promise<string | null> {
  return within(new Promise((resolve) => {
    const s = netConnect({ port, host: '127.0.0.1', localAddress });
    const split = new FrameSplitter(8192);
    s.on('connect', () => s.write(encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000' })));
    s.on('data', (d) => {
      const f = split.push(d)[0];
      if (!f) return;
      const m = decode(f, '9P2000');
      resolve(m.type === 'Rerror' ? `Rerror ${m.ename}` : m.type);
      s.destroy();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(null));
  }), 3000, `a Tversion answer from ${localAddress}`);
}

test('plaintext on the same port: served from loopback, refused from an address treated as remote', async () => {
  const { port } = await serveA();
  assert.is(await plainVersion(port, '127.0.0.1'), 'Rversion');
  const c = await dial(port, B, undefined);
  await c.attach({ uname: 'u' });
  assert.is((await c.readFile('hello')).toString(), 'hello over tls\n');

  const narrowed = await serveA({ isLocal: (a) => a === '127.0.0.1' });
  const refused = await plainVersion(narrowed.port, '127.0.0.2');
  assert.ok(refused?.includes('CHS_ERR_TLS_PLAINTEXT') && refused.includes('127.0.0.2'), String(refused));
  assert.is(await plainVersion(narrowed.port, '127.0.0.1'), 'Rversion');
  assert.is(narrowed.server.tlsRefused, 1);
  // `plaintext: true` lets plaintext in from anywhere.
  const open = await serveA({ isLocal: (a) => a === '127.0.0.1', plaintext: true });
  assert.is(await plainVersion(open.port, '127.0.0.2'), 'Rversion');
});

test('pipelined 64 KiB writes keep their bytes, plaintext (reused read buffer after the sniff) and TLS alike', async () => {
  const { port } = await serveA();
  for (const expectKey of [undefined, A.key]) {
    const c = await dial(port, B, expectKey);
    await c.attach({ uname: 'u' });
    const parts = Array.from({ length: 32 }, (_, i) => Buffer.alloc(65536 - (i * 37) % 4000, i + 1));
    const name = expectKey ? 'tls.bin' : 'plain.bin';
    await c.writeFile(name, Buffer.alloc(0));
    const { fid } = await c.walk(c.root!, [name]);
    await c.open(fid, 'w');
    let at = 0;
    const offsets = parts.map((p) => { const o = at; at += p.length; return o; });
    await within(Promise.all(parts.map((p, i) => c.write(fid, offsets[i]!, p))), 10_000, 'pipelined writes');
    await c.clunk(fid);
    assert.ok((await c.readFile(name)).equals(Buffer.concat(parts)), `${name} read back differs`);
  }
});

test('a connection that sends nothing, or stalls in the TLS handshake, is closed after handshakeMs', async () => {
  const { server, port } = await serveA({}, '127.0.0.1', 300);
  const silent = netConnect(port, '127.0.0.1');
  later(async () => silent.destroy());
  silent.on('error', () => undefined);
  // A TLS ClientHello's first bytes only: the handshake can never finish.
  const stalled = netConnect(port, '127.0.0.1', () => stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x80, 0x01])));
  later(async () => stalled.destroy());
  stalled.on('error', () => undefined);
  const closed = (s: Socket) => new Promise<void>((r) => s.once('close', () => r()));
  await within(Promise.all([closed(silent), closed(stalled)]), 3000, 'the server to close both connections');
  assert.is(server.timedOut, 2);
  assert.is(server.connections, 0);
});

test.run();
