// dht and mainline-dht with their default config (as `npm start` would run them, on any free
// port): loopback, default ports 6890/6881, no bootstrap node, so nothing is ever contacted, not even by a (re)bootstrap; no name
// is resolved; no datagram leaves loopback. Both mount their tree.
import { assertLoopbackOnly, destinations } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import dns from 'node:dns';
import { makeProject, startHost, type Project, type TestHost } from '../helpers/project.ts';
import type { DhtService } from '../../modules/dht/types.ts';

const asked: string[] = [];
const realLookup = dns.lookup;
(dns as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) => {
  asked.push(host);
  return (realLookup as (...a: unknown[]) => void)(host, ...rest);
};

let project: Project;
let th: TestHost;

test.before(async () => {
  // Everything at its default but the port (0: any free one), so a node running on this machine
  // (`npm start` holds udp 6890) does not make the test fail; the default ports are checked below.
  project = await makeProject({
    modules: {},
    copy: ['dht', 'mainline-dht'],
    role: ['dht', 'mainline-dht'],
    config: { modules: { dht: { port: 0 }, 'mainline-dht': { port: 0 } } },
  });
  th = await startHost(project, { watch: false });
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
  (dns as { lookup: unknown }).lookup = realLookup;
});

const svc = (id: string) => th.host.instances.get(id)!.run!.service as DhtService;

test('both start on loopback with no bootstrap node and mount /dht and /mainline-dht', () => {
  for (const id of ['dht', 'mainline-dht']) {
    assert.is(th.host.instances.get(id)?.state, 'active', `${id}: ${th.host.instances.get(id)?.lastError?.message}`);
    assert.is(svc(id).address().host, '127.0.0.1');
  }
  const defaults = (id: string) => th.host.instances.get(id)!.desc.configDefaults;
  assert.equal([defaults('dht').host ?? '127.0.0.1', defaults('dht').port], ['127.0.0.1', 6890]);
  assert.equal([defaults('mainline-dht').host ?? '127.0.0.1', defaults('mainline-dht').port], ['127.0.0.1', 6881]);
  for (const id of ['dht', 'mainline-dht']) assert.equal(defaults(id).bootstrap ?? [], [], `${id}: no default bootstrap node`);
  const mounts = th.host.mounts.list().map((m) => m.path);
  assert.ok(mounts.includes('/dht') && mounts.includes('/mainline-dht'), mounts.join(' '));
});

test('the default config never contacts anyone, even when asked to bootstrap again', async () => {
  const before = destinations.length;
  for (const id of ['dht', 'mainline-dht']) {
    const r = await svc(id).bootstrap();
    assert.is(r.responded, 0);
    const found = await svc(id).lookup('ab'.repeat(20));
    assert.equal(found.peers, []);
  }
  await new Promise((r) => setTimeout(r, 200));
  for (const id of ['dht', 'mainline-dht']) {
    const g = (svc(id).stats() as unknown as { guard: { sent: number; dropped: number } }).guard;
    assert.is(g.sent, 0, `${id} sent nothing`);
    assert.is(g.dropped, 0, `${id} tried nothing`);
  }
  assert.is(destinations.length, before);
  assert.equal(asked.filter((h) => !/^[\d.]+$/.test(h)), [], 'no host name was resolved');
  assertLoopbackOnly();
});

test.run();
