// Two Cheshire hosts in one process, each running styx-root and the dht module on its own
// loopback UDP port, B bootstrapped to A: the /dht tree and its ctl over 9P, an export of A
// found by B by path only (and trust honoured), a reload of dht that keeps its socket and
// table, a restart that restores the table from the state directory. No datagram leaves loopback.
import { assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '../../fs/client/client.ts';
import { RemoteError } from '../../fs/errors.ts';
import { freePort } from '../helpers/diod.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import type { DhtService } from '../../modules/dht/types.ts';

interface Node { project: Project; th: TestHost; port9p: number; client?: Client }
let A: Node;
let B: Node;

const FAST = { port: 0, queryTimeoutMs: 500, opTimeoutMs: 5000, republishMs: 60_000, saveMs: 60_000 };

async function startNode(dht: Record<string, unknown>): Promise<Node> {
  const port9p = await freePort();
  const project = await makeProject({
    modules: {},
    copy: ['styx-root', 'dht'],
    role: ['styx-root', 'dht'],
    config: { modules: { 'styx-root': { listen: `127.0.0.1:${port9p}` }, dht: { ...FAST, ...dht } } },
  });
  const th = await startHost(project, { watch: false });
  for (const id of ['styx-root', 'dht']) {
    assert.is(th.host.instances.get(id)?.state, 'active', `${id} did not start: ${th.host.instances.get(id)?.lastError?.message}`);
  }
  return { project, th, port9p };
}

const svc = (n: Node) => n.th.host.instances.get('dht')!.run!.service as DhtService;

async function client(n: Node): Promise<Client> {
  if (!n.client || n.client.isClosed) {
    n.client = await Client.connect({ port: n.port9p, timeoutMs: 3000, version: '9P2000.u' }); // .u carries error texts
    await n.client.attach({ uname: 'test' });
  }
  return n.client;
}

const read = async (n: Node, path: string) => (await (await client(n)).readFile(path)).toString('utf8');

/** Writes one command to /dht/ctl and reads the answer back from the same fid. */
async function ctl(n: Node, command: string): Promise<string> {
  const c = await client(n);
  const fid = await c.walkPath('/dht/ctl');
  try {
    await c.open(fid, 'rw');
    await c.write(fid, 0n, Buffer.from(`${command}\n`));
    return Buffer.from(await c.read(fid, 0n, 65536)).toString('utf8');
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
}

test.before(async () => {
  A = await startNode({});
  B = await startNode({ bootstrap: [`127.0.0.1:${svc(A).address().port}`], trust: [A.th.host.identity!.publicKey] });
  await waitFor('B to know A', () => svc(B).nodes().length >= 1 && svc(A).nodes().length >= 1, 5000);
});

test.after(async () => {
  for (const n of [A, B]) {
    if (!n) continue;
    await n.client?.close().catch(() => undefined);
    await n.th.close();
    await n.project.cleanup();
  }
});

test('/dht shows status (with the node\'s public key), nodes, stats, and the ctl usage', async () => {
  const status = await read(A, '/dht/status');
  assert.match(status, `public key: ${A.th.host.identity!.publicKey}`);
  assert.match(status, `udp: 127.0.0.1:${svc(A).address().port}`);
  assert.match(status, /sends to: loopback/);
  const nodes = await read(A, '/dht/nodes');
  assert.match(nodes, new RegExp(`^[0-9a-f]{40} 127\\.0\\.0\\.1:${svc(B).address().port}$`, 'm'));
  const stats = JSON.parse(await read(A, '/dht/stats'));
  assert.ok(stats.nodes >= 1 && stats.guard.dropped === 0);
  assert.match(await read(A, '/dht/ctl'), /^commands: bootstrap/);
});

test('ctl: bootstrap, put, get, announce, lookup answer readably; a bad command is a 9P error', async () => {
  const aPort = svc(A).address().port;
  assert.match(await ctl(B, `bootstrap 127.0.0.1:${aPort}`), /^bootstrap: 1 responded; table has \d+ nodes \(\d+ queries, \d+ ms\)\n$/);
  assert.match(await ctl(A, 'put greeting hello from A'), /^put target [0-9a-f]{40} seq \d+: stored on 1 nodes/);
  const got = await ctl(B, `get ${A.th.host.identity!.publicKey} greeting`);
  assert.match(got, /^get target [0-9a-f]{40}: seq \d+ from network .*\nhello from A\n$/);
  assert.match(await ctl(B, `get ${B.th.host.identity!.publicKey} nothing-here`), /not found/);
  const ih = 'aa'.repeat(20);
  assert.match(await ctl(A, `announce ${ih}`), new RegExp(`^announce ${ih}: 1 nodes took it`));
  const lookup = await ctl(B, `lookup ${ih}`);
  assert.match(lookup, new RegExp(`^127\\.0\\.0\\.1:${aPort}$`, 'm'));
  try {
    await ctl(A, 'frobnicate');
    assert.unreachable('unknown command accepted');
  } catch (err) {
    assert.instance(err, RemoteError);
    assert.match((err as RemoteError).ename, /unknown command "frobnicate"/);
  }
  try {
    await ctl(A, 'bootstrap nowhere');
    assert.unreachable('bad address accepted');
  } catch (err) {
    assert.match((err as Error).message, /is not HOST:PORT/);
  }
});

test('B finds A\'s export by path only; trust is honoured; an unexported path is not found', async () => {
  const ann = await svc(A).announceExport('/export/home', { address: `127.0.0.1:${A.port9p}`, aname: 'home', access: { auth: 'none' } });
  assert.is(ann.infohash, svc(B).infohash('/export/home'), 'same salt, same infohash on both nodes');
  assert.ok(ann.announcedTo >= 1 && ann.storedOn >= 1);
  const found = await svc(B).findExports('/export/home');
  assert.is(found.length, 1, JSON.stringify(found));
  assert.is(found[0]!.publicKey, A.th.host.identity!.publicKey);
  assert.is(found[0]!.address, `127.0.0.1:${A.port9p}`);
  assert.is(found[0]!.aname, 'home');
  assert.equal(found[0]!.access, { auth: 'none' });
  assert.is(found[0]!.self, false);
  assert.match(await ctl(B, 'find /export/home'), new RegExp(`^find /export/home: 1 export\\n127\\.0\\.0\\.1:${A.port9p} aname=home node=test key=${A.th.host.identity!.publicKey}`));
  assert.equal(await svc(B).findExports('/export/nobody'), []);
  assert.match(await ctl(B, 'find /export/nobody'), /^find \/export\/nobody: not found\n$/);
  // A trusts only itself (trust: []): B's export is verified but not trusted by A; B sees its own.
  await svc(B).announceExport('/export/b', { address: `127.0.0.1:${B.port9p}` });
  assert.equal(await svc(A).findExports('/export/b'), []);
  const own = await svc(B).findExports('/export/b');
  assert.is(own.length, 1);
  assert.ok(own[0]!.self);
  // Withdrawn: B (which trusts A) no longer finds it.
  await svc(A).announceExport('/export/tmp', { address: `127.0.0.1:${A.port9p}` });
  assert.is((await svc(B).findExports('/export/tmp')).length, 1);
  assert.ok(await svc(A).withdrawExport('/export/tmp'));
  assert.equal(await svc(B).findExports('/export/tmp'), []);
});

test('a reload of dht keeps its socket, node id, routing table and exports', async () => {
  const before = { id: svc(A).nodeId(), port: svc(A).address().port, nodes: svc(A).nodes().map((n) => n.id).sort() };
  const run = A.th.host.instances.get('dht')!.run;
  await A.th.host.reload('dht');
  assert.is(A.th.host.instances.get('dht')!.state, 'active');
  assert.ok(A.th.host.instances.get('dht')!.run !== run, 'a new incarnation');
  assert.is(svc(A).nodeId(), before.id);
  assert.is(svc(A).address().port, before.port);
  assert.equal(svc(A).nodes().map((n) => n.id).sort(), before.nodes);
  assert.ok(A.th.messages('dht').some((m) => /took over the DHT node/.test(m)));
  assert.equal(svc(A).exports().map((e) => e.path), ['/export/home']);
  assert.is((await svc(B).findExports('/export/home')).length, 1);
  assert.match(await read(A, '/dht/status'), `udp: 127.0.0.1:${before.port}`);
});

test('a restart of dht restores the routing table from its state directory', async () => {
  const id = svc(A).nodeId();
  const bPort = svc(B).address().port;
  await A.th.host.stopInstance('dht');
  const saved = JSON.parse(await readFile(join(A.project.dir, '.cheshire/modules/dht/dht-table.json'), 'utf8'));
  assert.is(saved.id, id);
  assert.ok(saved.nodes.some((n: { port: number }) => n.port === bPort), 'B is in the saved table');
  await A.th.host.startInstance('dht');
  assert.is(A.th.host.instances.get('dht')!.state, 'active');
  assert.is(svc(A).nodeId(), id, 'same node id');
  assert.ok(svc(A).nodes().some((n) => n.port === bPort), 'B is back in the table at once');
  const ann = await svc(A).announceExport('/export/again', { address: `127.0.0.1:${A.port9p}` });
  assert.ok(ann.storedOn >= 1);
  assert.is((await svc(B).findExports('/export/again')).length, 1);
});

test('no datagram left loopback', () => {
  assertLoopbackOnly();
  assert.is(svc(A).stats().warnings, 0, "a clean loopback cluster raises no DHT warning or error");
  assert.is((svc(A).stats() as { guard?: { dropped: number } }).guard?.dropped, 0);
});

test.run();
