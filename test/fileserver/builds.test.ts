// "App build N published": a build event pushed by the seed reaches the fileserver through the
// node's seed-client (an optional dynamic dependency) and its in-memory assets are re-read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/diod.ts';
import { waitFor } from '../helpers/project.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';
import { agent, request, service } from './helpers.ts';

let node: StyxNode;
let assetsDir: string;

test.before(async () => {
  assetsDir = await mkdtemp(join(tmpdir(), 'chs-fs-builds-'));
  await writeFile(join(assetsDir, 'index.html'), 'build 1\n');
  const seedPort = await freePort();
  node = await startStyxNode({
    copy: ['fileserver', 'seed', 'seed-client'],
    role: ['seed', 'seed-client', 'fileserver'],
    config: {
      seed: { port: seedPort },
      'seed-client': { seed: `ws://127.0.0.1:${seedPort}` },
      fileserver: { port: 0, assetsDir },
    },
  });
});

test.after(async () => {
  agent.destroy();
  await node?.close();
  await rm(assetsDir, { recursive: true, force: true });
});

test('a build published by the seed makes the fileserver re-read its assets', async () => {
  const base = service(node.th).url();
  const seedClient = node.th.host.instances.get('seed-client')!.run!.service as { connected(): boolean };
  await waitFor('the seed-client to join the seed', () => seedClient.connected());
  assert.is((await request(`${base}/`)).body.toString(), 'build 1\n');
  await writeFile(join(assetsDir, 'index.html'), 'build 2\n');
  (node.th.host.instances.get('seed')!.run!.service as { publish(n: number): unknown }).publish(2);
  await waitFor('the new build to be served', async () => (await request(`${base}/`)).body.toString() === 'build 2\n');
});

test.run();
