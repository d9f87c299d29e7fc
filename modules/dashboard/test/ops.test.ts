// /metrics and /healthz on the dashboard's port: the metrics parse as Prometheus text and a reload
// increments the reload counter; /healthz answers 503 while a module's health check fails and 200
// once it recovers (and /healthz/ID says the same of one instance); the page shows the health.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { launch, request, startDashNode, synced, waitFor, type DashNode } from './helpers.ts';

const probe = {
  cheshire: { health: { intervalMs: 40, timeoutMs: 500 } },
  index: `const g = globalThis as any;
export function start() { return {}; }
export function health() { return g.__dashboardProbeOk === false ? { ok: false, reason: 'told to fail' } : { ok: true }; }
`,
};

/** Prometheus text exposition: `# HELP`/`# TYPE` lines, samples `name{label="v",...} value [timestamp]`. */
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?(?:[0-9.e+-]+|NaN|\+Inf|-Inf))( -?\d+)?$/;

function parseProm(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${JSON.stringify(line)}`);
    out.set(`${m![1]}${m![2] ?? ''}`, Number(m![4]));
  }
  return out;
}

const O = suite('dashboard /metrics and /healthz');
let node: DashNode;
const g = globalThis as { __dashboardProbeOk?: boolean };

O.before(async () => {
  g.__dashboardProbeOk = true;
  node = await startDashNode({ modules: { probe }, role: ['probe'] });
});
O.after(async () => {
  delete g.__dashboardProbeOk;
  await node?.close();
});

/** Sum of the reload counter's samples for one instance. */
const reloadsOf = (m: Map<string, number>, id: string) =>
  [...m].filter(([k]) => k.startsWith('cheshire_reloads_total{') && k.includes(`module="${id}"`)).reduce((n, [, v]) => n + v, 0);

O('/metrics parses as Prometheus text; a reload increments the reload counter', async () => {
  const first = await request(`${node.url}metrics`);
  assert.is(first.status, 200);
  assert.match(String(first.headers['content-type']), /^text\/plain/);
  const before = parseProm(first.body);
  assert.ok(before.size > 10, 'samples');
  assert.ok([...before.keys()].some((k) => k.startsWith('cheshire_instance_state{')), 'instance states');
  await node.th.host.control.reload('probe');
  const after = parseProm((await request(`${node.url}metrics`)).body);
  assert.is(reloadsOf(after, 'probe'), reloadsOf(before, 'probe') + 1);
});

O('/healthz turns 503 when a module\'s health check fails, and 200 when it recovers', async () => {
  const healthz = async (path = 'healthz') => {
    const r = await request(`${node.url}${path}`);
    return { status: r.status, body: JSON.parse(r.body) as { ok: boolean; results?: Array<{ id: string; ok: boolean }>; result?: { id: string; ok: boolean } } };
  };
  await waitFor('/healthz to answer 200', async () => (await healthz()).status === 200, 5_000, 20);
  const pages = await launch();
  try {
    const page = await pages.open(`${node.url}#i=probe`);
    await synced(page);
    g.__dashboardProbeOk = false;
    const bad = await waitFor('/healthz to answer 503', async () => { const r = await healthz(); return r.status === 503 && r; }, 5_000, 20);
    assert.is(bad.body.ok, false);
    assert.equal(bad.body.results!.filter((r) => !r.ok).map((r) => r.id), ['probe']);
    const one = await healthz('healthz/probe');
    assert.is(one.status, 503);
    assert.is(one.body.result!.id, 'probe');
    assert.is((await healthz('healthz/dashboard')).status, 200, 'the others are well');
    assert.is((await request(`${node.url}healthz/nobody`)).status, 404);
    await page.waitForSelector('tr[data-instance=probe] .badge.bad', { timeout: 5_000 });
    g.__dashboardProbeOk = true;
    await waitFor('/healthz to answer 200 again', async () => (await healthz()).status === 200, 5_000, 20);
    assert.is((await healthz('healthz/probe')).status, 200);
    await page.waitForSelector('tr[data-instance=probe] .badge.ok', { timeout: 5_000 });
    assert.equal(pages.errors, []);
  } finally {
    await pages.close();
  }
});

O.run();
