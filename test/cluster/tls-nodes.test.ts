// Node-to-node TLS between real Cheshire nodes on loopback (styx-root, styx-provider, styx-client,
// dht): node B grafts node A's export over TLS pinned to A's key and reads a file through its own
// 9P port (a local plaintext client on loopback, which keeps working); an import pinned to another
// key is refused naming both keys. Through the DHT (B trusts A's key; an attacker DHT node X
// serves descriptions): a description of A's tampered after signing is refused, the genuine one
// grafts over TLS, and a genuine description whose address now leads to an impostor (another
// node's key) is refused at the TLS handshake.
import { assertLoopbackOnly } from '../dht/net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DhtNode } from '../../modules/dht/node.ts';
import type { DhtService } from '../../modules/dht/types.ts';
import { mutableTarget, signedBytes, type MutableItem } from '../../modules/dht/item.ts';
import type { Identity } from '../../core/types.ts';
import { NineServer } from '../../fs/server/server.ts';
import { memfs, type MemFile } from '../../fs/tree/memfs.ts';
import { waitFor } from '../helpers/project.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';
import { testNode } from '../helpers/tls-nodes.ts';
import { freePort } from '../helpers/diod.ts';

const FAST = { port: 0, queryTimeoutMs: 500, opTimeoutMs: 3000, republishMs: 60_000, saveMs: 60_000 };
let A: StyxNode;
let B: StyxNode;
let C: StyxNode; // admits over TLS only the keys in its styx-root's `peers` (not B's)
let H: DhtNode;
let X: DhtNode;
let impostor: NineServer;
let impostorKey: string;
let impostorPort: number;
let dir: string;
const wrongKey = 'ab'.repeat(32);

const keyOf = (n: StyxNode) => n.th.host.identity!.publicKey;
const dht = (n: StyxNode) => n.th.host.instances.get('dht')!.run!.service as DhtService;
const rootPeers = (n: StyxNode) => (n.th.host.instances.get('styx-root')!.run!.service as { peers(): Array<{ address: string; key?: string }> }).peers();

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chs-tls-nodes-'));
  await writeFile(join(dir, 'readme.txt'), 'read over tls\n');
  A = await startStyxNode({ copy: ['styx-provider'], role: ['styx-provider#docs'], config: { 'styx-provider#docs': { root: dir } } });
  const cPort = await freePort();
  C = await startStyxNode({ port: cPort, copy: ['styx-provider'], role: ['styx-provider#docs'], config: { 'styx-root': { listen: `127.0.0.1:${cPort}`, peers: [wrongKey] }, 'styx-provider#docs': { root: dir } } });
  // An impostor: a 9P server on loopback with a certificate of another key.
  const M = await testNode();
  impostorKey = M.key;
  const fs = memfs();
  (fs.create({ name: 'readme.txt', dir: false, perm: 0o644, nUid: 0, nGid: 0, uid: 'u' }) as MemFile).writeAt(0, Buffer.from('impostor\n'));
  impostor = new NineServer({ attach: () => fs, tls: { credentials: M.creds } });
  impostorPort = (await impostor.listen(0, '127.0.0.1')).port;
  H = await DhtNode.create({ queryTimeoutMs: 500, opTimeoutMs: 3000 });
  const at = `127.0.0.1:${H.address().port}`;
  X = await DhtNode.create({ queryTimeoutMs: 500, opTimeoutMs: 3000, bootstrap: [at] });
  B = await startStyxNode({
    copy: ['dht', 'styx-client'],
    role: ['dht', 'styx-client'],
    config: {
      dht: { ...FAST, bootstrap: [at], trust: [keyOf(A)] },
      'styx-client': {
        imports: [
          { name: 'a', address: `127.0.0.1:${A.port}`, aname: '/export/docs', publicKey: keyOf(A) },
          { name: 'wrong', address: `127.0.0.1:${A.port}`, aname: '/export/docs', publicKey: wrongKey },
          { name: 'closed', address: `127.0.0.1:${C.port}`, aname: '/export/docs', publicKey: keyOf(C) },
        ],
        reconnect: { minMs: 50, maxMs: 200 },
      },
    },
  });
  await X.bootstrap();
  await dht(B).bootstrap();
  await X.bootstrap();
  await waitFor('B and X to know each other', () => dht(B).nodes().length >= 2 && X.nodes().length >= 2, 5000);
});

test.after(async () => {
  await B?.close();
  await Promise.allSettled([X?.destroy(), H?.destroy(), impostor?.close()]);
  await C?.close();
  await A?.close();
  await rm(dir, { recursive: true, force: true });
});

test('B grafts A\'s export over TLS pinned to A\'s key and reads a file; A records B\'s key', async () => {
  const c = await B.connect('9P2000.L'); // a local plaintext client on B's port (loopback)
  assert.is(await text(c, '/net/a/readme.txt'), 'read over tls\n');
  assert.ok(rootPeers(A).some((p) => p.key === keyOf(B)), JSON.stringify(rootPeers(A)));
});

test('an import pinned to another key is refused, naming the expected and the presented keys', async () => {
  const c = await B.connect('9P2000.u');
  const line = await waitFor('the wrong import to fail', async () => (await text(c, '/net/status')).split('\n').find((l) => l.startsWith('wrong ') && l.includes('CHS_ERR_TLS_PEER_KEY')), 5000);
  assert.ok(line.includes(`expected key ${wrongKey}`) && line.includes(`presented key ${keyOf(A)}`), line);
  assert.not.ok(rootPeers(A).some((p) => p.key === undefined && p.address !== '127.0.0.1'));
});

test('a node whose styx-root admits only other keys (`peers`) refuses B\'s graft', async () => {
  const c = await B.connect('9P2000.u');
  const line = await waitFor('the graft to C to fail', async () => (await text(c, '/net/status')).split('\n').find((l) => l.startsWith('closed ') && / (disconnected|connecting) /.test(l) && /closed|reset/.test(l)), 5000);
  assert.match(line, new RegExp(`^closed 127\\.0\\.0\\.1:${C.port} `));
  assert.not.ok(rootPeers(C).some((p) => p.key === keyOf(B)), 'C did not serve B');
  const own = await C.connect('9P2000.L'); // a local plaintext client is still served
  assert.is(await text(own, '/export/docs/readme.txt'), 'read over tls\n');
});

/** Serves, from attacker X, `item` as the description of `path` (X announces the path's infohash). */
async function serveDescription(path: string, who: Identity, address: string, tamper?: (v: string) => string): Promise<void> {
  const ih = Buffer.from(dht(B).infohash(path), 'hex');
  const v = Buffer.from(JSON.stringify({ v: 1, path, address, aname: '/export/docs', node: 'a' }));
  const seq = Date.now();
  const item: MutableItem = { k: Buffer.from(who.publicKey, 'hex'), v, seq, salt: ih, sig: who.sign(signedBytes(v, seq, ih)) };
  if (tamper) item.v = Buffer.from(tamper(v.toString()));
  X.serveOwn(mutableTarget(item.k, ih), item, ih);
  await X.announce(ih);
}

test('through the DHT: a tampered description is refused, the genuine one grafts over TLS', async () => {
  const identityA = A.th.host.identity!;
  await serveDescription('/export/docs', identityA, `127.0.0.1:${A.port}`, (v) => v.replace(`:${A.port}`, `:${impostorPort}`));
  const c = await B.connect('9P2000.u');
  const err = await c.walkPath('/net/docs').then(() => 'found', (e: Error) => e.message);
  assert.match(err, /does not exist/, 'the tampered description is not used');
  await serveDescription('/export/docs', identityA, `127.0.0.1:${A.port}`);
  assert.is(await text(c, '/net/docs/readme.txt'), 'read over tls\n');
  assert.match(await text(c, '/net/status'), new RegExp(`^docs 127\\.0\\.0\\.1:${A.port} connected$`, 'm'));
});

test('through the DHT: a genuine description whose address leads to an impostor is refused at the handshake', async () => {
  await serveDescription('/export/moved', A.th.host.identity!, `127.0.0.1:${impostorPort}`);
  const c = await B.connect('9P2000.u');
  const err = await c.readFile('/net/moved/readme.txt').then((b) => `read ${b.toString()}`, (e: Error) => e.message);
  assert.not.match(err, /impostor/);
  const line = await waitFor('the graft to report the refusal', async () => (await text(c, '/net/status')).split('\n').find((l) => l.startsWith('moved ') && l.includes('CHS_ERR_TLS_PEER_KEY')), 5000);
  assert.ok(line.includes(`expected key ${keyOf(A)}`) && line.includes(`presented key ${impostorKey}`), line);
});

test('no datagram left loopback', () => {
  assertLoopbackOnly();
});

test.run();
