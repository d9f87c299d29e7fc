// health(ctx) and ctx.metrics inside isolated modules (worker and process): the module's own
// health(ctx) runs in its isolate and its answer reaches the host's health results; a module
// without one is reported by its isolate's answer; metrics registered in the isolate are the
// node's (label module = the instance id), updates applied in order.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { HealthResult } from '../../core/types.ts';
import { inst, scope, until } from '../helpers/extra.ts';

const S = suite('isolation-health');
const t = scope();
S.after.each(() => t.cleanup());

type Svc = Record<string, (...a: unknown[]) => Promise<any>>;

for (const mode of ['worker', 'process'] as const) {
  S(`${mode}: health(ctx) runs in the isolate; ctx.metrics reach the node's registry`, async () => {
    const project = await t.project({
      modules: {
        checked: {
          cheshire: { isolation: mode, provides: ['checked'], health: { intervalMs: 50, timeoutMs: 2000 } },
          index: `let healthy = true;
let checks = 0;
export function health(ctx: any) { checks++; return { ok: healthy, checks, id: ctx.id, pid: process.pid }; }
export function start(ctx: any) {
  const jobs = ctx.metrics.counter({ name: 'iso_jobs_total', help: 'jobs done', labelNames: ['kind'] });
  const depth = ctx.metrics.gauge({ name: 'iso_queue_depth', help: 'queue depth' });
  return {
    sick: () => { healthy = false; },
    work: (n: number) => { jobs.inc({ kind: 'a' }, n); jobs.labels('b').inc(); depth.set(7); depth.dec(2); return n; },
  };
}`,
        },
        bare: { cheshire: { isolation: mode, health: { intervalMs: 50, timeoutMs: 2000 } }, index: `export function start() {}` },
      },
      role: ['checked', 'bare'],
    });
    const th = await t.host(project, { watch: false });
    const healthOf = (id: string) => th.host.health(id)[0];
    const first: HealthResult = await until('a health result from the isolate', () => {
      const h = healthOf('checked');
      return h && (h.detail as { checks?: number } | undefined)?.checks! >= 2 ? h : null;
    }, 10_000);
    const d = first.detail as { checks: number; id: string; pid: number };
    assert.is(first.ok, true);
    assert.is(d.id, 'checked');
    if (mode === 'process') assert.is.not(d.pid, process.pid, 'health(ctx) ran in the child process');
    await (inst(th, 'checked').run!.service as Svc).sick!();
    const sick = await until('the failing health to be reported', () => healthOf('checked')?.ok === false && healthOf('checked'), 10_000);
    assert.match(sick.error ?? '', /reported/);
    assert.is(await until('bare to be reported alive', () => healthOf('bare')?.ok, 10_000), true, 'no health export: the isolate answers');

    assert.is(await (inst(th, 'checked').run!.service as Svc).work!(3), 3);
    const text = await until('the metrics to reach the registry', async () => {
      const m = (await th.host.metrics()).text;
      return /iso_queue_depth\{module="checked"\} 5/.test(m) && m;
    }, 5_000);
    assert.match(text, /iso_jobs_total\{module="checked",kind="a"\} 3/);
    assert.match(text, /iso_jobs_total\{module="checked",kind="b"\} 1/);
  });
}

S.run();
