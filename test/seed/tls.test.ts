// The seed's meta port over wss (real TLS on loopback): a node joins pinned to the seed's key; the
// seed refuses a node whose key it does not trust, an introduction whose key is not the one the
// TLS certificate proved, and a TLS client without a certificate; a node refuses a seed whose key
// it was not given (its seed-client says so, naming both keys) and never joins. A node's
// styx-client with seedNodes grafts /net/NAME for a node of the directory, pinned to the key that
// node joined with (a node whose 9P address is served by another key is refused). The meta port's
// plaintext rule: the sniffing front of an HTTP server (modules/seed/tls.ts) with `isLocal`
// narrowed to 127.0.0.1, and clients from a second source address, 127.0.0.2, as "remote".
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, get as httpGet, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WebSocket } from 'ws';
import { sniffMetaPort } from '../../modules/seed/tls.ts';
import { NineServer } from '../../fs/server/server.ts';
import { memfs, type MemFile } from '../../fs/tree/memfs.ts';
import { signIntro, type SeedMessage } from '../../modules/seed/protocol.ts';
import type { Client } from '../../fs/client/client.ts';
import { freePort } from '../helpers/diod.ts';
import { waitFor } from '../helpers/project.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';
import { testNode, within, type TestNode } from '../helpers/tls-nodes.ts';

const TOKEN = 'join-token-0123456789abcdef';
let seedNode: StyxNode;
let member: StyxNode | undefined;
let doubter: StyxNode | undefined;
let seedPort: number;
let c: Client;
let trusted: TestNode;
let stranger: TestNode;
const sockets: WebSocket[] = [];

test.before(async () => {
  seedPort = await freePort();
  [trusted, stranger] = await Promise.all([testNode(), testNode()]);
  seedNode = await startStyxNode({
    copy: ['seed'],
    role: ['seed'],
    config: { seed: { port: seedPort, trust: [trusted.key], joinTokens: [TOKEN], heartbeatMs: 200, helloTimeoutMs: 2000 } },
  });
  c = await seedNode.connect('9P2000.L');
});

test.after(async () => {
  for (const ws of sockets) ws.terminate();
  await doubter?.close();
  await member?.close();
  await seedNode?.close();
});

const seedKey = () => seedNode.th.host.identity!.publicKey;

/** A raw wss connection with `tlsAs`'s certificate, introducing itself as `introAs`; resolves with the seed's last word. */
async function wssJoin(tlsAs: TestNode | null, introAs: TestNode): Promise<{ refused?: string; reason?: string; welcomed: boolean; closed: string }> {
  const ws = new WebSocket(`wss://127.0.0.1:${seedPort}`, { rejectUnauthorized: false, ...(tlsAs ? { key: tlsAs.creds.key, cert: tlsAs.creds.cert } : {}) });
  sockets.push(ws);
  const out: { refused?: string; reason?: string; welcomed: boolean; closed: string } = { welcomed: false, closed: '' };
  return within(new Promise((resolve) => {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as SeedMessage;
      if (m.t === 'challenge') {
        ws.send(JSON.stringify(signIntro(introAs.identity, { node: 'raw', role: 'live', modules: [], http: null, routes: [], ninep: null, nonce: m.nonce })));
      } else if (m.t === 'refused') { out.refused = m.code; out.reason = m.reason; } else if (m.t === 'welcome') { out.welcomed = true; ws.close(); }
    });
    ws.on('error', (err) => { out.closed = err.message; });
    ws.on('close', (code) => { out.closed ||= String(code); resolve(out); });
  }), 5000, 'the seed to answer a wss introduction');
}

test('a node joins over wss pinned to the seed\'s key', async () => {
  member = await startStyxNode({
    copy: ['seed', 'seed-client', 'styx-client'],
    role: ['seed-client', 'styx-client'],
    config: {
      'seed-client': { seed: `wss://127.0.0.1:${seedPort}`, seedKey: seedKey(), token: TOKEN, backoffMs: 50, backoffMaxMs: 500 },
      'styx-client': { seedNodes: true, discover: '', reconnect: { minMs: 50, maxMs: 200 } },
    },
  });
  const key = member.th.host.identity!.publicKey;
  await waitFor('the member in /seed/nodes', async () => (await text(c, '/seed/nodes')).includes(key.slice(0, 16)) || (await text(c, '/seed/nodes')).includes(key), 8000);
  const m = await member.connect('9P2000.L');
  assert.match(await text(m, '/seed-client/status'), /connected yes/);
  const ok = await wssJoin(trusted, trusted);
  assert.ok(ok.welcomed, JSON.stringify(ok));
});

test('the seed refuses a node whose key it does not trust, and an introduction not by the TLS key', async () => {
  const untrusted = await wssJoin(stranger, stranger);
  assert.is(untrusted.refused, 'CHS_ERR_SEED_UNTRUSTED', JSON.stringify(untrusted));
  assert.ok(untrusted.reason?.includes(stranger.key));
  const swapped = await wssJoin(stranger, trusted); // a trusted key's introduction over another key's TLS link
  assert.is(swapped.refused, 'CHS_ERR_TLS_PEER_KEY', JSON.stringify(swapped));
  assert.ok(swapped.reason?.includes(trusted.key) && swapped.reason.includes(stranger.key), swapped.reason);
  const noCert = await wssJoin(null, trusted);
  assert.not.ok(noCert.welcomed, 'a TLS client without a certificate is not served');
  assert.is(noCert.refused, undefined);
  assert.not.match(await text(c, '/seed/nodes'), /\braw\b/);
});

test('a node refuses a seed whose key it was not given', async () => {
  doubter = await startStyxNode({
    copy: ['seed', 'seed-client'],
    role: ['seed-client'],
    // no seedKey: a wss seed must then be this node's own, and it is not
    config: { 'seed-client': { seed: `wss://127.0.0.1:${seedPort}`, token: TOKEN, backoffMs: 50, backoffMaxMs: 300 } },
  });
  const mine = doubter.th.host.identity!.publicKey;
  const d = await doubter.connect('9P2000.L');
  const status = await waitFor('the refusal in /seed-client/status', async () => { const t = await text(d, '/seed-client/status'); return t.includes('CHS_ERR_TLS_PEER_KEY') ? t : ''; }, 5000);
  assert.match(status, /connected no/);
  assert.ok(status.includes(`expected key ${mine}`) && status.includes(`presented key ${seedKey()}`), status);
  assert.not.ok((await text(c, '/seed/nodes')).includes(mine.slice(0, 16)));
});

/** A node that stays in the directory: joins over wss as `who` (with the join token), names `ninep`, heartbeats. */
async function stay(who: TestNode, node: string, ninep: string): Promise<void> {
  const ws = new WebSocket(`wss://127.0.0.1:${seedPort}`, { rejectUnauthorized: false, key: who.creds.key, cert: who.creds.cert });
  sockets.push(ws);
  const ping = setInterval(() => { if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ t: 'ping' })); }, 100);
  ws.on('close', () => clearInterval(ping));
  await within(new Promise<void>((resolve, reject) => {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as SeedMessage;
      if (m.t === 'challenge') ws.send(JSON.stringify(signIntro(who.identity, { node, role: 'storage', modules: [], http: null, routes: [], ninep, nonce: m.nonce, token: TOKEN })));
      else if (m.t === 'welcome') resolve();
      else if (m.t === 'refused') reject(new Error(`${m.code}: ${m.reason}`));
    });
  }), 5000, `${node} to join`);
}

test('/net/NAME through the seed\'s directory: TLS pinned to the key the node joined with', async () => {
  const honest = await testNode();
  const fs = memfs();
  (fs.create({ name: 'hello', dir: false, perm: 0o644, nUid: 0, nGid: 0, uid: 'u' }) as MemFile).writeAt(0, Buffer.from('from the directory\n'));
  const servers: NineServer[] = [];
  try {
    const serve = async (who: TestNode) => { const srv = new NineServer({ attach: () => fs, tls: { credentials: who.creds } }); servers.push(srv); return (await srv.listen(0, '127.0.0.1')).port; };
    await stay(honest, 'honest', `127.0.0.1:${await serve(honest)}`);
    await stay(stranger, 'claims', `127.0.0.1:${await serve(honest)}`); // its 9P address is served by another key
    const m = await member!.connect('9P2000.u');
    assert.is(await text(m, '/net/honest/hello'), 'from the directory\n');
    await m.walkPath('/net/claims').catch(() => undefined);
    const line = await waitFor('the graft to "claims" to be refused', async () => (await text(m, '/net/status')).split('\n').find((l) => l.startsWith('claims ') && l.includes('CHS_ERR_TLS_PEER_KEY')), 5000);
    assert.ok(line.includes(`expected key ${stranger.key}`) && line.includes(`presented key ${honest.key}`), line);
  } finally {
    await Promise.allSettled(servers.map((x) => x.close()));
  }
});

test('the meta port: plaintext from an address treated as remote is refused, TLS from it is served', async () => {
  const server: Server = createServer((_req, res) => res.end('meta'));
  const warnings: string[] = [];
  sniffMetaPort(server, { credentials: trusted.creds, plaintext: false, handshakeMs: 2000, log: { warn: (m) => warnings.push(m) }, isLocal: (a) => a === '127.0.0.1' });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    const plain = (localAddress: string) => within(new Promise<string>((resolve) => {
      const req = httpGet({ host: '127.0.0.1', port, localAddress, agent: false }, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(b)); });
      req.on('error', (err) => resolve(`error ${err.message}`));
    }), 3000, `a plaintext answer to ${localAddress}`);
    const secure = (localAddress: string) => within(new Promise<string>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port, localAddress, agent: false, key: stranger.creds.key, cert: stranger.creds.cert, rejectUnauthorized: false }, (res) => { let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve(b)); });
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.end();
    }), 3000, `a TLS answer to ${localAddress}`);
    assert.is(await plain('127.0.0.1'), 'meta');
    assert.match(await plain('127.0.0.2'), /^error /);
    assert.ok(warnings.some((w) => w.startsWith('CHS_ERR_TLS_PLAINTEXT') && w.includes('127.0.0.2')), warnings.join('\n'));
    assert.is(await secure('127.0.0.2'), 'meta');
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test.run();
