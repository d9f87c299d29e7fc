// The host's health checks: for each active incarnation whose module exports health(ctx), one
// unref'd timer calls it every health.intervalMs (the first call at once), bounded by timeoutMs,
// never two calls of one instance at once (a call that overran is waited for before the next),
// and stops with the incarnation. Instances without the export, and instances not active, get a
// result from their state, so every instance has one.
import type { Logger } from 'pino';
import { runScope, type RunScope } from '../timers.ts';
import type { ErrorInfo, HealthResult, InstanceState, ModuleContext, ModuleExports } from '../types.ts';
import { runCheck } from './check.ts';

/** What the monitor reads of an instance (core/instance.ts's Instance). */
export interface Watched {
  readonly id: string;
  readonly state: InstanceState;
  readonly run: (RunScope & { readonly ctx: ModuleContext<any, any> | null; readonly exports?: ModuleExports | null }) | null;
  readonly code: { readonly exports: ModuleExports } | null;
  readonly desc: { readonly health: { intervalMs: number; timeoutMs: number } };
  readonly log: Logger;
  readonly lastError: ErrorInfo | null;
}

type HealthFn = NonNullable<ModuleExports['health']>;

/** The checks of one incarnation. */
class Watch {
  latest: HealthResult | null = null;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;

  constructor(
    readonly run: NonNullable<Watched['run']>,
    private readonly id: string,
    private readonly fn: HealthFn,
    private readonly every: { intervalMs: number; timeoutMs: number },
    private readonly report: (r: HealthResult) => void,
  ) {
    this.arm(0);
  }

  private arm(ms: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    const ctx = this.run.ctx;
    if (this.stopped || !ctx) return;
    // The previous call overran its timeout and is still running: its failure stands, no second call.
    if (this.busy) return this.arm(this.every.intervalMs);
    this.busy = true;
    // In the instance's scope: timers it makes are its own, a late throw is its crash.
    const check = runCheck(this.id, () => runScope.run(this.run, () => this.fn(ctx)), this.every.timeoutMs);
    void check.settled.then(() => { this.busy = false; });
    void check.result.then((r) => {
      if (this.stopped) return;
      this.latest = r;
      this.report(r);
      this.arm(this.every.intervalMs);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

export class HealthMonitor {
  private readonly watches = new Map<string, Watch>();
  /** Whether the last checked result of an instance was ok (to log and signal changes only). */
  private readonly wasOk = new Map<string, boolean>();
  private closed = false;

  /** `changed` is told when a checked result turns from ok to failing or back. */
  constructor(private readonly changed: () => void) {}

  /** An instance changed state: a new active incarnation starts being checked; anything else stops it. */
  update(inst: Watched): void {
    const w = this.watches.get(inst.id);
    const run = inst.state === 'active' && !this.closed ? inst.run : null;
    if (w && w.run === run) return;
    w?.stop();
    this.watches.delete(inst.id);
    // The exports the incarnation started with (an isolation override's, core/isolation/override.ts).
    const fn = (inst.run?.exports ?? inst.code?.exports)?.health;
    if (!run || typeof fn !== 'function') return;
    this.watches.set(inst.id, new Watch(run, inst.id, fn, { ...inst.desc.health }, (r) => this.reported(inst, r)));
  }

  private reported(inst: Watched, r: HealthResult): void {
    const before = this.wasOk.get(inst.id);
    this.wasOk.set(inst.id, r.ok);
    if (before === r.ok || (before === undefined && r.ok)) return;
    if (r.ok) inst.log.info(`${inst.id} healthy again (${r.ms} ms)`);
    else inst.log.warn({ health: r }, `health check failed: ${r.error}`);
    this.changed();
  }

  /** The latest result of an instance (see the file's head for instances without a check). */
  result(inst: Watched): HealthResult {
    const base = { id: inst.id, at: new Date().toISOString(), ms: 0 };
    if (inst.state !== 'active') {
      const why = (inst.state === 'backoff' || inst.state === 'failed') && inst.lastError ? `: ${inst.lastError.message.split('\n')[0]}` : '';
      return { ...base, ok: false, detail: { state: inst.state }, error: `${inst.id} is ${inst.state}${why}` };
    }
    const w = this.watches.get(inst.id);
    if (!w || w.run !== inst.run) return { ...base, ok: true, detail: { state: 'active' } };
    return w.latest ?? { ...base, ok: true, detail: { state: 'active', pending: true } };
  }

  /** Stops every check. Idempotent. */
  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
  }
}
