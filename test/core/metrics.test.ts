// The node's metrics (core/metrics): Prometheus text that a strict parser accepts, the node's own
// metrics (states, reloads, crashes, memory), and ctx.metrics: a module's metric carries its
// instance id, is shared by instances registering the same name, disappears when the instance
// stops, and survives 1000 reloads as one copy; conflicts and bad names are refused by code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NodeMetrics } from '../../core/metrics/index.ts';
import type { NodeStatus, ReloadEvent } from '../../core/types.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { parseExposition, sampleSum, sampleValue } from '../helpers/prom-text.ts';

const JOBS = `
export function start(ctx: any) {
  const jobs = ctx.metrics.counter({ name: 'app_jobs_total', help: 'Jobs done', labelNames: ['kind'] });
  const depth = ctx.metrics.gauge({ name: 'app_queue_depth', help: 'Queue depth', collect() { this.set(7); } });
  const took = ctx.metrics.histogram({ name: 'app_job_seconds', help: 'Job time', buckets: [0.1, 1] });
  jobs.inc({ kind: 'a' }, 3);
  took.observe(0.5);
  return { jobs, depth };
}
`;

const CRASHY = `
const g = globalThis as any;
g.__crashy ??= 0;
export function start() {
  if (g.__crashy++ === 0) throw new Error('first start fails');
  return {};
}
`;

let project: Project;
let th: TestHost;

test.before(async () => {
  project = await makeProject({
    modules: {
      jobs: { index: JOBS },
      crashy: { index: CRASHY },
      clash: { index: "export function start(ctx: any) { ctx.metrics.counter({ name: globalThis.__clashName ?? 'cheshire_reloads_total', help: 'x', labelNames: globalThis.__clashLabels ?? [] }); return {}; }" },
    },
    role: ['jobs', 'jobs#two', 'crashy'],
  });
  th = await startHost(project, { watch: false });
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const scrape = async () => {
  const m = await th.host.control.metrics();
  return { ...m, families: parseExposition(m.text) };
};

test('the exposition parses strictly and holds the node\'s own metrics', async () => {
  await waitFor('crashy restarted', () => th.host.instances.get('crashy')?.state === 'active');
  const { contentType, families, text } = await scrape();
  assert.is(contentType, 'text/plain; version=0.0.4; charset=utf-8');
  for (const name of ['cheshire_instance_state', 'cheshire_instance_healthy', 'cheshire_instance_restarts_total', 'cheshire_instance_crashes_total',
    'cheshire_reloads_total', 'cheshire_reload_duration_seconds', 'cheshire_event_loop_delay_seconds', 'cheshire_heap_used_bytes', 'cheshire_node_info']) {
    assert.ok(families.has(name), `${name} in\n${text}`);
  }
  assert.is(sampleValue(families, 'cheshire_instance_state', { module: 'jobs', state: 'active' }), 1);
  assert.is(sampleValue(families, 'cheshire_instance_state', { module: 'jobs', state: 'failed' }), 0);
  assert.is(sampleValue(families, 'cheshire_instance_healthy', { module: 'jobs#two' }), 1);
  assert.is(sampleValue(families, 'cheshire_instance_crashes_total', { module: 'crashy' }), 1);
  assert.is(sampleValue(families, 'cheshire_instance_restarts_total', { module: 'crashy' }), 1);
  assert.ok(sampleValue(families, 'cheshire_heap_used_bytes')! > 1e6);
  assert.is(sampleValue(families, 'cheshire_node_info', { node: 'test', role: 'test' }), 1);
  assert.is(families.get('cheshire_reload_duration_seconds')!.type, 'histogram');
});

test('the parser refuses what is not the format', () => {
  const ok = '# HELP a_total A\n# TYPE a_total counter\na_total{x="1"} 2\n';
  parseExposition(ok);
  for (const bad of [
    'a_total 2\n', // no HELP/TYPE
    '# HELP a A\n# TYPE a gauge\na{x=1} 2\n', // unquoted
    '# HELP a A\n# TYPE a gauge\na 2', // no final newline
    '# HELP a A\n# TYPE a gauge\na two\n',
    '# HELP a A\n# TYPE a gauge\nb 1\n', // sample of another family
    '# HELP a A\n# TYPE a gauge\na 1\n# HELP b B\n# TYPE b gauge\nb 1\n# HELP a A\n', // family twice
  ]) assert.throws(() => parseExposition(bad), undefined, JSON.stringify(bad));
});

test('a module\'s metrics carry its instance id; instances registering one name share one family', async () => {
  const { families } = await scrape();
  assert.is(sampleValue(families, 'app_jobs_total', { module: 'jobs', kind: 'a' }), 3);
  assert.is(sampleValue(families, 'app_jobs_total', { module: 'jobs#two', kind: 'a' }), 3);
  assert.is(sampleValue(families, 'app_queue_depth', { module: 'jobs' }), 7, 'collect() runs at the scrape');
  assert.is(sampleValue(families, 'app_job_seconds_count', { module: 'jobs#two' }), 1);
  assert.is(sampleValue(families, 'app_job_seconds_bucket', { module: 'jobs', le: '1' }), 1);
  assert.is(families.get('app_jobs_total')!.help, 'Jobs done');
});

test('a reload increments cheshire_reloads_total and observes its duration', async () => {
  const before = await scrape();
  const n0 = sampleSum(before.families, 'cheshire_reloads_total', { module: 'jobs', outcome: 'active' });
  const c0 = sampleSum(before.families, 'cheshire_reload_duration_seconds_count', { module: 'jobs' });
  await th.host.control.reload('jobs');
  const after = await waitFor('the reload counted', async () => {
    const s = await scrape();
    return sampleSum(s.families, 'cheshire_reloads_total', { module: 'jobs', outcome: 'active' }) === n0 + 1 ? s : false;
  });
  assert.is(sampleSum(after.families, 'cheshire_reload_duration_seconds_count', { module: 'jobs' }), c0 + 1);
  assert.is(sampleValue(after.families, 'app_jobs_total', { module: 'jobs', kind: 'a' }), 3, 'the new version registered it afresh');
});

test('a module\'s metric disappears when its instance stops and comes back when it starts', async () => {
  await th.host.control.stop('jobs');
  let { families } = await scrape();
  assert.is(sampleValue(families, 'app_jobs_total', { module: 'jobs' }), undefined, 'gone with jobs');
  assert.is(sampleValue(families, 'app_jobs_total', { module: 'jobs#two' }), 3, 'jobs#two keeps its own');
  await th.host.control.stop('jobs#two');
  ({ families } = await scrape());
  assert.not.ok(families.has('app_jobs_total'), 'the family left with its last member');
  await th.host.control.start('jobs');
  await th.host.control.start('jobs#two');
  ({ families } = await scrape());
  assert.is(sampleValue(families, 'app_jobs_total', { module: 'jobs', kind: 'a' }), 3);
});

test('1000 reloads of a module registering its own metrics leave one copy of each', async () => {
  const families0 = th.host.nodeMetrics.modules.size;
  const metrics0 = th.host.nodeMetrics.registry.getMetricsAsArray().length;
  for (let i = 0; i < 1000; i++) await th.host.control.reload('jobs');
  const { families, text } = await scrape();
  assert.is(th.host.nodeMetrics.modules.size, families0);
  assert.is(th.host.nodeMetrics.registry.getMetricsAsArray().length, metrics0);
  assert.is(text.split('\n').filter((l) => l === '# TYPE app_jobs_total counter').length, 1);
  assert.is(families.get('app_jobs_total')!.samples.filter((s) => s.labels.module === 'jobs').length, 1);
  assert.is(sampleValue(families, 'app_jobs_total', { module: 'jobs', kind: 'a' }), 3);
});

test('conflicts and bad names are refused with their code, naming the instance and metric', async () => {
  const g = globalThis as { __clashName?: string; __clashLabels?: string[] };
  const tryStart = async () => {
    await th.host.control.enable('clash').catch(() => undefined);
    await th.host.control.start('clash').catch(() => undefined);
    const inst = th.host.instances.get('clash')!;
    await waitFor('clash settled', () => inst.state !== 'starting' && inst.state !== 'planned');
    const msg = inst.lastError?.message ?? '';
    await th.host.control.stop('clash');
    return msg;
  };
  assert.match(await tryStart(), /CHS_ERR_METRIC_CONFLICT: clash: ctx\.metrics\.counter\("cheshire_reloads_total"\): the name is one of the node's own metrics/);
  g.__clashName = 'app_jobs_total';
  g.__clashLabels = ['other'];
  assert.match(await tryStart(), /CHS_ERR_METRIC_CONFLICT: .*label names are \[kind\]/);
  g.__clashLabels = ['module'];
  g.__clashName = 'clash_total';
  assert.match(await tryStart(), /CHS_ERR_METRIC_INVALID: .*the label "module" is the host's/);
  g.__clashName = 'bad-name';
  g.__clashLabels = [];
  assert.match(await tryStart(), /CHS_ERR_METRIC_INVALID: .*the name must match/);
  const { families } = await scrape();
  assert.not.ok(families.has('clash_total'));
  parseExposition((await th.host.control.metrics()).text);
});

test('each host has its own registry: two side by side do not collide', async () => {
  const status = (node: string): NodeStatus => ({ node, role: 'r', pid: 1, startedAt: '', versions: { cheshire: '0', node: '20' }, publicKey: null, failsafe: null, configError: null, instances: [] });
  const subs: Array<(e: ReloadEvent) => void> = [];
  const a = new NodeMetrics({ status: () => status('a'), onReload: (fn) => { subs.push(fn); return () => {}; } });
  const b = new NodeMetrics({ status: () => status('b'), onReload: () => () => {} });
  try {
    const sa = a.scope('m');
    const sb = b.scope('m');
    sa.api.counter({ name: 'x_total', help: 'x' }).inc(2);
    sb.api.counter({ name: 'x_total', help: 'x' }).inc(5);
    subs[0]!({ seq: 1, id: 'm', module: 'm', at: '', trigger: 'ctl', kind: 'hot', ms: 12, outcome: 'active', version: '1.0.0', hash: null, error: null });
    const fa = parseExposition((await a.text()).text);
    const fb = parseExposition((await b.text()).text);
    assert.is(sampleValue(fa, 'x_total', { module: 'm' }), 2);
    assert.is(sampleValue(fb, 'x_total', { module: 'm' }), 5);
    assert.is(sampleValue(fa, 'cheshire_reloads_total', { module: 'm', kind: 'hot', trigger: 'ctl' }), 1);
    assert.is(sampleSum(fb, 'cheshire_reloads_total'), 0);
    sa.release();
    assert.not.ok(parseExposition((await a.text()).text).has('x_total'));
  } finally {
    a.close();
    b.close();
  }
});

test.run();
