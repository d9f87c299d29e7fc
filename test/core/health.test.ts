// Health checks (core/health): a module's health(ctx) export is called on its descriptor's
// interval with the start ctx; a throw, false, { ok: false }, or a call past timeoutMs is a
// failure naming the reason; it recovers; calls never overlap; checks stop with the instance and
// start again with the next incarnation; an instance without the export reports its state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDescriptor } from '../../core/descriptor.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

interface HcState {
  mode: 'ok' | 'throw' | 'false' | 'notok' | 'hang' | 'weird';
  calls: number;
  running: number;
  maxRunning: number;
  ctxIds: string[];
  release: (() => void) | null;
}

const HC = `
const g = globalThis as any;
g.__hc ??= { mode: 'ok', calls: 0, running: 0, maxRunning: 0, ctxIds: [], release: null };
export function start(ctx: any) { ctx.onStop(() => {}); return { id: ctx.id }; }
export async function health(ctx: any) {
  const s = g.__hc;
  s.calls++;
  s.running++;
  s.maxRunning = Math.max(s.maxRunning, s.running);
  s.ctxIds.push(ctx.id + '@' + ctx.version);
  try {
    if (s.mode === 'throw') throw new Error('database unreachable');
    if (s.mode === 'false') return false;
    if (s.mode === 'notok') return { ok: false, reason: 'queue full' };
    if (s.mode === 'weird') return 42;
    if (s.mode === 'hang') await new Promise<void>((r) => { s.release = r; });
    return { ok: true, db: 'up' };
  } finally {
    s.running--;
  }
}
`;

const hc = (): HcState => (globalThis as { __hc?: HcState }).__hc!;

let project: Project;
let th: TestHost;

test.before(async () => {
  project = await makeProject({
    modules: {
      hc: { cheshire: { health: { intervalMs: 25, timeoutMs: 150 } }, index: HC },
      plain: { index: 'export function start() { return {}; }' },
    },
    role: ['hc', 'plain'],
  });
  th = await startHost(project, { watch: false });
});

test.after(async () => {
  hc()?.release?.();
  await th?.close();
  await project?.cleanup();
});

const healthOf = (id: string) => th.host.control.health(id)[0]!;

/** Waits until the result of `id` satisfies `ok`, and at least `calls` calls have been made. */
const settleTo = (id: string, want: (r: ReturnType<typeof healthOf>) => boolean, what: string) =>
  waitFor(what, () => { const r = healthOf(id); return want(r) ? r : false; }, 5_000);

test('health(ctx) is called on the interval with the start ctx; its detail is in the result', async () => {
  const from = hc().calls;
  await waitFor('three more health calls', () => hc().calls >= from + 3);
  const r = await settleTo('hc', (r) => r.ok && !(r.detail as { pending?: boolean })?.pending, 'a checked ok result');
  assert.is(r.id, 'hc');
  assert.equal(r.detail, { db: 'up' });
  assert.is(r.error, undefined);
  assert.ok(Number.isFinite(Date.parse(r.at)), 'at is an ISO time');
  assert.ok(r.ms >= 0);
  assert.ok(hc().ctxIds.every((c) => c === 'hc@1.0.0'), 'called with the instance ctx');
  const first = r.at;
  await settleTo('hc', (r) => r.at !== first, 'a newer result');
});

test('a throw is a failure naming the message; a recovery is ok again and both are logged', async () => {
  hc().mode = 'throw';
  const bad = await settleTo('hc', (r) => !r.ok, 'the failure');
  assert.match(bad.error!, /^CHS_ERR_HEALTH_FAILED: hc: health\(ctx\) threw: database unreachable$/);
  assert.ok(th.messages('hc').some((m) => /health check failed: CHS_ERR_HEALTH_FAILED.*database unreachable/.test(m)), 'logged');
  const st = th.host.status().instances.find((i) => i.id === 'hc')!;
  assert.is(st.health?.ok, false, 'status carries the health');
  hc().mode = 'ok';
  await settleTo('hc', (r) => r.ok, 'the recovery');
  assert.ok(th.messages('hc').some((m) => /hc healthy again/.test(m)), 'the recovery is logged');
});

test('false, { ok: false, ... } and a value of another kind are failures', async () => {
  hc().mode = 'false';
  assert.match((await settleTo('hc', (r) => !r.ok, 'false')).error!, /CHS_ERR_HEALTH_FAILED: hc: health\(ctx\) returned false/);
  hc().mode = 'ok';
  await settleTo('hc', (r) => r.ok, 'ok');
  hc().mode = 'notok';
  const r = await settleTo('hc', (r) => !r.ok, '{ ok: false }');
  assert.equal(r.detail, { reason: 'queue full' });
  hc().mode = 'ok';
  await settleTo('hc', (r) => r.ok, 'ok');
  hc().mode = 'weird';
  assert.match((await settleTo('hc', (r) => !r.ok, '42')).error!, /returned number 42; expected a boolean or \{ ok/);
  hc().mode = 'ok';
  await settleTo('hc', (r) => r.ok, 'ok');
});

test('a call past timeoutMs fails with CHS_ERR_HEALTH_TIMEOUT and no second call starts until it settles', async () => {
  hc().maxRunning = 0;
  hc().mode = 'hang';
  const r = await settleTo('hc', (r) => !r.ok, 'the timeout');
  assert.match(r.error!, /^CHS_ERR_HEALTH_TIMEOUT: hc: health\(ctx\) did not settle within 150 ms$/);
  const calls = hc().calls;
  // Several intervals pass: the hanging call is still the only one.
  await new Promise((res) => setTimeout(res, 200));
  assert.is(hc().calls, calls, 'no call while the previous one still runs');
  assert.is(hc().maxRunning, 1, 'never two calls at once');
  hc().mode = 'ok';
  hc().release!();
  await settleTo('hc', (r) => r.ok, 'ok after the hanging call settled');
  assert.ok(hc().calls > calls);
});

test('an instance without a health export reports its state; a stopped one is not ok', async () => {
  const r = healthOf('plain');
  assert.is(r.ok, true);
  assert.equal(r.detail, { state: 'active' });
  await th.host.control.stop('plain');
  const s = healthOf('plain');
  assert.is(s.ok, false);
  assert.equal(s.detail, { state: 'stopped' });
  assert.is(s.error, 'plain is stopped');
  await th.host.control.start('plain');
  assert.is(healthOf('plain').ok, true);
  const all = th.host.control.health();
  assert.equal(all.map((x) => x.id).sort(), ['hc', 'plain'], 'every instance has a result');
});

test('checks stop with the instance and start again with the next incarnation', async () => {
  await th.host.control.stop('hc');
  const calls = hc().calls;
  await new Promise((res) => setTimeout(res, 150));
  assert.is(hc().calls, calls, 'no call while stopped');
  assert.is(healthOf('hc').ok, false);
  await th.host.control.start('hc');
  await waitFor('calls again', () => hc().calls > calls);
  await project.write('modules/hc/package.json', JSON.stringify({ name: 'hc', version: '1.1.0', type: 'module', cheshire: { health: { intervalMs: 25, timeoutMs: 150 } } }));
  await th.host.control.reload('hc');
  await waitFor('a call on the new version', () => hc().ctxIds.includes('hc@1.1.0'));
  await settleTo('hc', (r) => r.ok && !(r.detail as { pending?: boolean })?.pending, 'a checked result of the new version');
});

test('unknown instance: CHS_ERR_INSTANCE_NOT_FOUND', () => {
  assert.throws(() => th.host.control.health('nope'), /CHS_ERR_INSTANCE_NOT_FOUND/);
});

test('the descriptor field is validated and defaults to 10 s / 1 s', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chs-health-'));
  try {
    const write = (cheshire: unknown) => writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', cheshire }));
    await write({});
    assert.equal(readDescriptor(dir).health, { intervalMs: 10_000, timeoutMs: 1_000 });
    await write({ health: { intervalMs: 500 } });
    assert.equal(readDescriptor(dir).health, { intervalMs: 500, timeoutMs: 1_000 });
    for (const bad of [{ intervalMs: 0 }, { timeoutMs: 'soon' }, { everyMs: 5 }, 'often']) {
      await write({ health: bad });
      assert.throws(() => readDescriptor(dir), /CHS_ERR_DESCRIPTOR_INVALID/, JSON.stringify(bad));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the checks keep no process alive, even with a call that never settles', async () => {
  // A process whose only work is a health watch (interval 10 ms, a call that hangs) must end by itself.
  const script = `
    import { HealthMonitor } from ${JSON.stringify(join(import.meta.dirname, '../../core/health/index.ts'))};
    import pino from 'pino';
    const run = { id: 'x', ctx: { id: 'x' }, trackTimer: () => () => {}, crash: () => {} };
    let calls = 0;
    const inst = { id: 'x', state: 'active', run, lastError: null, log: pino({ enabled: false }),
      desc: { health: { intervalMs: 10, timeoutMs: 20 } },
      code: { exports: { start() {}, health: () => { calls++; return new Promise(() => {}); } } } };
    const m = new HealthMonitor(() => {});
    m.update(inst);
    setTimeout(() => console.log('calls', calls, JSON.stringify(m.result(inst).error)), 100);
  `;
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d; });
  child.stderr.on('data', (d: Buffer) => { out += d; });
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.is(code, 0, `the process ended by itself (output: ${out})`);
    assert.match(out, /^calls 1 "CHS_ERR_HEALTH_TIMEOUT: x: health\(ctx\) did not settle within 20 ms"$/m, 'one call, timed out, no second');
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
  }
});

test.run();
