// The cluster view: node "test" runs a seed (and its own seed-client, styx-root and the
// dashboard); node "beta" joins that seed with a join token. The page lists both nodes from the
// seed's directory and shows beta's own view read through beta's 9P tree, where a reload command
// reaches beta's module.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../../base/free-port.ts';
import { makeProject, startHost, type Project, type TestHost } from '../../../test/helpers/project.ts';
import { launch, startDashNode, synced, waitFor, type DashNode, type Pages } from './helpers.ts';

const JOIN = 'join-token-0123456789abcdef';

const K = suite('dashboard cluster view');
let seedNode: DashNode;
let beta: { project: Project; th: TestHost } | null = null;
let pages: Pages;

K.before(async () => {
  const seedPort = await freePort();
  const styxA = await freePort();
  seedNode = await startDashNode({
    copy: ['styx-root', 'seed', 'seed-client'],
    role: ['styx-root', 'seed', 'seed-client'],
    modules_config: {
      'styx-root': { listen: `127.0.0.1:${styxA}` },
      seed: { port: seedPort, joinTokens: [JOIN], heartbeatMs: 200 },
      'seed-client': { seed: `ws://127.0.0.1:${seedPort}` },
    },
  });
  const styxB = await freePort();
  const project = await makeProject({
    modules: {},
    copy: ['styx-root', 'seed', 'seed-client'], // seed-client shares the seed's protocol.ts
    role: ['styx-root', 'seed-client'],
    config: {
      node: 'beta',
      modules: { 'styx-root': { listen: `127.0.0.1:${styxB}` }, 'seed-client': { seed: `ws://127.0.0.1:${seedPort}`, token: JOIN } },
    },
  });
  beta = { project, th: await startHost(project) };
  pages = await launch();
});

K.after(async () => {
  await pages?.close();
  if (beta) {
    await beta.th.close();
    await beta.project.cleanup();
  }
  await seedNode?.close();
});

K('the page lists the nodes the seed knows, and shows another node through its 9P tree', async () => {
  const page = await pages.open(seedNode.url);
  await synced(page);
  await page.waitForSelector('[data-testid=cluster] tr[data-node=beta]', { timeout: 10_000 });
  await page.waitForSelector('[data-testid=cluster] tr[data-node=test]');
  assert.match(await page.textContent('[data-testid=cluster] tr[data-node=test]') ?? '', 'this node');
  await page.click('[data-testid=cluster] tr[data-node=beta] button');
  const remote = page.locator('[data-testid=remote-node]');
  await remote.waitFor();
  await waitFor('beta\'s /status', async () => /seed-client/.test((await remote.locator('.remote-status').textContent()) ?? ''), 10_000, 50);
  await remote.locator('button', { hasText: 'seed-client' }).click();
  await waitFor('beta\'s seed-client status', async () => /active/.test((await remote.locator('.remote-file').textContent()) ?? ''), 10_000, 50);
  const reloads = beta!.th.host.control.status().instances.find((i) => i.id === 'seed-client')!.reloads;
  await remote.locator('button', { hasText: /^reload$/ }).click();
  await waitFor('beta\'s seed-client to reload', () => beta!.th.host.control.status().instances.find((i) => i.id === 'seed-client')!.reloads > reloads, 10_000);
  // The dashboard read beta's tree over TLS, pinned to beta's key and proving node test's own.
  const betaRoot = beta!.th.host.instances.get('styx-root')!.run!.service as { peers(): Array<{ address: string; key?: string }> };
  const testKey = seedNode.th.host.status().publicKey;
  assert.ok(testKey, 'node test has a public key');
  assert.ok(betaRoot.peers().some((p) => p.key === testKey), `beta's 9P server saw node test's key over TLS: ${JSON.stringify(betaRoot.peers())}`);
  assert.equal(pages.errors, []);
});

K.run();
