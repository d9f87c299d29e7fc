// Failsafe mode in chromium: a required module that throws at start-up sends the node to its
// minimal set (here the dashboard alone); the page shows the start-up error with its stack and
// the module's own file; once the module is fixed on disk the node boots and the page follows.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { launch, shot, startDashNode, synced, waitFor, type DashNode, type Pages } from './helpers.ts';

const brokenCore = `export function start() {
  throw new Error('core is broken');
}
`;

const F = suite('dashboard failsafe page');
let node: DashNode;
let pages: Pages;
let page: Page;

F.before(async () => {
  node = await startDashNode({
    modules: { core: { index: brokenCore }, extra: { index: 'export function start() { return {}; }\n' } },
    role: ['core', 'extra'],
    required: ['core'],
    failsafeRole: ['dashboard'],
  });
  pages = await launch();
  page = await pages.open(node.url);
  await synced(page);
});

F.after(async () => {
  await pages?.close();
  await node?.close();
});

F('the failsafe page shows the start-up error, its stack and the module file', async () => {
  assert.ok(node.th.host.failsafe, 'the node is in failsafe mode');
  const banner = page.locator('[data-testid=failsafe]');
  await banner.waitFor();
  assert.match(await banner.textContent() ?? '', 'core is broken');
  const stack = await page.textContent('[data-testid=failsafe-stack]');
  assert.match(stack ?? '', 'core is broken');
  assert.match(stack ?? '', /modules\/core\/index\.ts:2/, 'the module\'s own frame, with its line');
  assert.ok(await page.isVisible('[data-testid=failsafe-stack]'), 'the stack is open on the page');
  const names = await page.locator('svg.graph [data-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-node')));
  assert.equal(names, ['dashboard'], 'only the minimal set runs');
  await shot(page, 'failsafe');
  assert.equal(pages.errors, []);
});

F('fixing the module boots the node; the page drops the banner and shows the role', async () => {
  await node.project.write('modules/core/index.ts', 'export function start() { return { fixed: true }; }\n');
  await waitFor('the node to boot', () => node.th.host.failsafe === null && node.th.host.instances.get('core')?.state === 'active', 15_000);
  await page.waitForSelector('svg.graph [data-node=core][data-state=active]', { timeout: 10_000 });
  await page.waitForSelector('svg.graph [data-node=extra]');
  assert.is(await page.locator('[data-testid=failsafe]').count(), 0);
});

F('a dependency cycle sends the node to failsafe: the page draws the cycle, spelled out', async () => {
  const plain = 'export function start() { return {}; }\n';
  await node.project.writeModule('ca', { cheshire: { provides: ['sa'], requires: [{ service: 'sb' }] }, index: plain });
  await node.project.writeModule('cb', { cheshire: { provides: ['sb'], requires: [{ service: 'sa' }] }, index: plain });
  await node.project.write('config/roles/test.json', JSON.stringify({ modules: ['core', 'extra', 'ca', 'cb', 'dashboard'], required: ['core'] }));
  await waitFor('failsafe with the cycle', () => node.th.host.failsafe?.code === 'CHS_ERR_DEP_CYCLE', 15_000);
  await page.waitForSelector('[data-testid=failsafe]', { timeout: 10_000 });
  assert.match(await page.textContent('[data-testid=failsafe]') ?? '', /ca -> cb -> ca|cb -> ca -> cb/);
  await page.waitForSelector('svg.graph [data-node=ca].kind-cycle');
  await page.waitForSelector('svg.graph [data-node=cb].kind-cycle');
  const edges = await page.locator('svg.graph .edge.cycle').evaluateAll((els) => els.map((e) => e.getAttribute('data-edge')).sort());
  assert.equal(edges, ['ca->cb', 'cb->ca']);
  await shot(page, 'failsafe-cycle');
});

F.run();
