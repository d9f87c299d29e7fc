// Finding exports through the DHT: node A exports a directory with `announce: true`; node B,
// which only knows A as a DHT bootstrap node and trusts A's key, reads the export at
// /net/NAME by path alone. A path nobody exports is a clean "not found". Loopback only.
import { assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DhtService } from '../../modules/dht/types.ts';
import { RemoteError } from '../../fs/errors.ts';
import { waitFor } from '../helpers/project.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

const FAST = { port: 0, queryTimeoutMs: 500, opTimeoutMs: 4000, republishMs: 60_000, saveMs: 60_000 };
let A: StyxNode;
let B: StyxNode;
let dir: string;

const dht = (n: StyxNode) => n.th.host.instances.get('dht')!.run!.service as DhtService;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chs-discovery-'));
  await writeFile(join(dir, 'readme.txt'), 'found by path\n');
  A = await startStyxNode({
    copy: ['dht', 'styx-provider'],
    role: ['dht', 'styx-provider#docs'],
    config: { dht: FAST, 'styx-provider#docs': { root: dir, announce: true } },
  });
  await waitFor('A to announce /export/docs', () => dht(A).exports().some((e) => e.path === '/export/docs'), 10_000);
  B = await startStyxNode({
    copy: ['dht', 'styx-client'],
    role: ['dht', 'styx-client'],
    config: { dht: { ...FAST, bootstrap: [`127.0.0.1:${dht(A).address().port}`], trust: [A.th.host.identity!.publicKey] } },
  });
  await waitFor('B to know A', () => dht(B).nodes().length >= 1, 5000);
});

test.after(async () => {
  await B?.close();
  await A?.close();
  await rm(dir, { recursive: true, force: true });
});

test('B reads A\'s export at /net/docs, found by path through the DHT', async () => {
  const c = await B.connect('9P2000.L');
  assert.is(await text(c, '/net/docs/readme.txt'), 'found by path\n');
  assert.match(await text(c, '/net/status'), new RegExp(`^docs 127\\.0\\.0\\.1:${A.port} connected$`, 'm'));
  // A Cheshire node found through the DHT: its graft pipelines lookups (docs/exports.md).
  const imports = (B.th.host.instances.get('styx-client')!.run!.service as { imports(): Array<{ name: string; pipeline: boolean }> }).imports();
  assert.equal(imports.map((i) => [i.name, i.pipeline]), [['docs', true]]);
});

test('a path nobody exports is "not found"', async () => {
  const c = await B.connect('9P2000.u');
  try {
    await c.walkPath('/net/nobody');
    assert.unreachable('walk should fail');
  } catch (err) {
    assert.match((err as RemoteError).ename, /does not exist/);
  }
});

test('no datagram left loopback', () => {
  assertLoopbackOnly();
});

test.run();
