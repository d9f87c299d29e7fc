// The dashboard page in Debian's chromium, against a real node: it loads with no console errors;
// the graph shows every instance and edge; a save shows a new reload entry within a second of the
// host's; a broken save shows the error with file:line while the old version stays active; the log
// tail grows; and a reload of the dashboard itself refuses no request and the page resyncs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { launch, request, shot, startDashNode, synced, waitFor, chatty, type DashNode, type Pages } from './helpers.ts';

const appSource = (greeting: string) => `const GREETING = '${greeting}';
export function start(ctx: any) {
  ctx.log.info('app says ' + GREETING);
  return { greeting: GREETING };
}
`;
const broken = `export function start(ctx: any) {
  return { greeting: ;
}
`;
const plain = 'export function start() { return {}; }\n';

const P = suite('dashboard page');
let node: DashNode;
let pages: Pages;
let page: Page;

P.before(async () => {
  node = await startDashNode({
    modules: {
      base: { cheshire: { provides: ['base-svc'] }, index: plain },
      app: { cheshire: { requires: [{ service: 'base-svc', policy: 'static', cardinality: '1' }] }, index: appSource('one') },
      viewer: { cheshire: { requires: [{ service: 'base-svc', policy: 'dynamic', cardinality: '0..n' }] }, index: plain },
      lonely: { cheshire: { requires: [{ service: 'absent', policy: 'static', cardinality: '1' }] }, index: plain },
      ticker: { index: chatty('ticker', 100) },
    },
    role: ['base', 'app', 'viewer', 'lonely', 'ticker'],
  });
  pages = await launch();
  page = await pages.open(node.url);
  await synced(page);
});

P.after(async () => {
  await pages?.close();
  await node?.close();
});

P('the page loads with the node in its header and no console errors', async () => {
  assert.is(await page.textContent('[data-testid=node-name]'), 'test');
  assert.is(await page.textContent('[data-testid=node-role]'), 'test');
  await shot(page, 'page-loaded');
  assert.equal(pages.errors, []);
});

P('the graph shows every instance and every edge, and the missing provider', async () => {
  const status = node.th.host.control.status();
  for (const i of status.instances) {
    assert.is(await page.locator(`svg.graph [data-node="${i.id}"]`).count(), 1, `node ${i.id}`);
    for (const r of i.requires) {
      for (const to of r.boundTo) {
        const edge = page.locator(`svg.graph [data-edge="${i.id}->${to}"]`);
        assert.is(await edge.count(), 1, `edge ${i.id} -> ${to}`);
        assert.match(await edge.textContent() ?? '', `${r.policy} ${r.cardinality}`);
      }
    }
  }
  assert.ok(status.instances.length >= 6);
  // base is bound twice (app static 1, viewer dynamic 0..n)
  assert.match(await page.locator('[data-edge="app->base"]').textContent() ?? '', 'static 1');
  assert.match(await page.locator('[data-edge="viewer->base"]').textContent() ?? '', 'dynamic 0..n');
  const missing = page.locator('svg.graph [data-node="missing:absent@*"]');
  assert.is(await missing.count(), 1, 'the missing provider is drawn');
  assert.match(await page.locator('[data-edge="lonely->missing:absent@*"]').getAttribute('class') ?? '', 'unsatisfied');
  assert.is(await page.locator('svg.graph [data-node=lonely]').getAttribute('data-state'), 'waiting');
  assert.match(await page.locator('tr[data-instance=lonely]').textContent() ?? '', 'waiting for absent');
});

/** The newest timeline entry of an instance on the host (the test runs the host in-process). */
const lastSeq = () => node.th.host.control.reloads().at(-1)?.seq ?? 0;

P('a saved file shows a new reload entry on the page within a second of the host recording it', async () => {
  const before = lastSeq();
  let hostAt = 0;
  const off = node.th.host.control.onReload((e) => { if (e.id === 'app' && !hostAt) hostAt = Date.now(); });
  try {
    await node.project.write('modules/app/index.ts', appSource('two'));
    const entry = await waitFor('the host to record the reload of app', () => node.th.host.control.reloads().find((e) => e.seq > before && e.id === 'app'), 10_000);
    assert.is(entry.outcome, 'active', entry.error?.message);
    await page.waitForSelector(`li.reload[data-seq="${entry.seq}"]`, { timeout: 5_000 });
    const shownAfter = Date.now() - hostAt;
    assert.ok(shownAfter < 1000, `the page showed the reload ${shownAfter} ms after the host recorded it`);
  } finally {
    off();
  }
  const li = page.locator('li.reload').first();
  assert.is(await li.getAttribute('data-id'), 'app');
  assert.is(await li.getAttribute('data-outcome'), 'active');
  assert.match(await li.textContent() ?? '', 'save');
});

P('a broken save shows the error with file:line:col, and the old version still active', async () => {
  const before = lastSeq();
  const hash = node.th.host.control.status().instances.find((i) => i.id === 'app')!.hash;
  await node.project.write('modules/app/index.ts', broken);
  const entry = await waitFor('the host to refuse the broken version', () => node.th.host.control.reloads().find((e) => e.seq > before && e.id === 'app'), 10_000);
  assert.is(entry.outcome, 'refused');
  const li = page.locator(`li.reload[data-seq="${entry.seq}"]`);
  await li.waitFor({ timeout: 5_000 });
  assert.is(await li.getAttribute('data-outcome'), 'refused');
  const where = await li.locator('[data-testid=where]').textContent();
  assert.match(where ?? '', /app\/index\.ts:2:\d+/, `file:line:col of the syntax error, got ${where}`);
  assert.match(await li.textContent() ?? '', 'CHS_ERR_MODULE_LOAD');
  // the old version keeps serving, and the page says so
  assert.is(node.th.host.control.status().instances.find((i) => i.id === 'app')!.hash, hash);
  assert.is(await page.locator('svg.graph [data-node=app]').getAttribute('data-state'), 'active');
  assert.is(await page.locator('tr[data-instance=app] [data-testid=state]').textContent(), 'active');
  await li.locator('summary').click();
  await shot(page, 'broken-save');
  await node.project.write('modules/app/index.ts', appSource('three'));
  await waitFor('the fixed version to be active', () => node.th.host.control.reloads().some((e) => e.seq > entry.seq && e.id === 'app' && e.outcome === 'active'), 10_000);
});

P('the log tail of an instance grows live; level filter and search apply', async () => {
  await page.click('tr[data-instance=ticker]');
  await page.click('[data-testid=panel] [data-tab=log]');
  const count = async () => {
    const text = (await page.textContent('[data-testid=log-count]')) ?? '0 / 0';
    const [shown, all] = text.split('/').map((s) => Number(s.trim()));
    return { shown: shown!, all: all! };
  };
  const first = await waitFor('the log tail to have lines', async () => { const c = await count(); return c.all > 0 && c; }, 5_000, 50);
  await waitFor('the log tail to grow by 3 lines', async () => (await count()).all >= first.all + 3, 5_000, 50);
  assert.match(await page.textContent('[data-testid=log]') ?? '', /ticker tick \d+/);
  await page.selectOption('[data-testid=log-level]', '40');
  assert.is((await count()).shown, 0, 'no warn lines');
  await page.selectOption('[data-testid=log-level]', '30');
  await page.fill('[data-testid=log-search]', 'tick 2');
  const lines = await page.locator('[data-testid=log] .log-line .msg').allTextContents();
  assert.ok(lines.length >= 1 && lines.every((l) => l.includes('tick 2')), `search shows only matching lines: ${lines.join(' | ')}`);
  await shot(page, 'log-tail');
  await page.click('[data-testid=panel] .close');
});

P('a saved client file rebuilds the page bundle and the open page loads it', async () => {
  const before = await page.getAttribute('#app', 'data-client');
  const css = node.project.modulePath('dashboard', 'client/style.css');
  const { readFile, writeFile } = await import('node:fs/promises');
  await writeFile(css, `${await readFile(css, 'utf8')}\n.saved-by-the-test { color: #123456; }\n`);
  await waitFor('the page to load the new bundle', async () => {
    const now = await page.getAttribute('#app', 'data-client').catch(() => null);
    return now !== null && now !== before;
  }, 10_000, 50);
  await synced(page);
});

P('a reload of the dashboard itself refuses no request; the page reconnects and stays live', async () => {
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const poll = (async () => {
    while (!stop) {
      try {
        const r = await request(`${node.url}healthz/base`);
        if (r.status === 200) ok++;
        else failures.push(`status ${r.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  })();
  try {
    for (let k = 0; k < 3; k++) await node.th.host.control.reload('dashboard');
  } finally {
    stop = true;
    await poll;
  }
  assert.equal(failures, [], 'no request failed while the dashboard reloaded');
  assert.ok(ok > 0);
  await page.waitForSelector('[data-testid=link][data-link=live]', { timeout: 10_000 });
  // the new version feeds the page: a reload of app appears
  const before = lastSeq();
  await node.th.host.control.reload('app');
  const seq = node.th.host.control.reloads().find((e) => e.seq > before && e.id === 'app')!.seq;
  await page.waitForSelector(`li.reload[data-seq="${seq}"]`, { timeout: 5_000 });
  const dashboard = node.th.host.instances.get('dashboard')?.run?.service as { pages(): number };
  await waitFor('one page connected to the new version', () => dashboard.pages() === 1, 5_000);
  assert.equal(pages.errors.filter((e) => !/WebSocket|ERR_CONNECTION|status of 5\d\d/.test(e)), [], 'no console errors beyond the reconnect');
});

P.run();
