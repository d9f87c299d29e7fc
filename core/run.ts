// One incarnation of a module instance: builds its ctx, runs start(ctx) under a deadline inside
// the instance's async scope, and owns everything it registers, released in reverse order.
import { errorLocation } from './loader/stacks.ts';
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { chsError, errorText } from './errors.ts';
import { runScope, type RunScope } from './timers.ts';
import { forceRelease, releaseResource, runTeardown, trackConnections, type TeardownStep } from './teardown.ts';
import type { MountTable } from './mounts.ts';
import type { HostControl, ModuleContext, ModuleExports, ModuleMetrics } from './types.ts';
import { MetricsScope, ModuleFamilies } from './metrics/scope.ts';
import { Registry } from 'prom-client';

/** What one version hands to the next: key -> value plus how to dispose it if nobody takes it. */
export type Handed = Map<string, { value: unknown; dispose: (v: unknown) => void | Promise<void> }>;

export interface RunOptions {
  id: string;
  name: string;
  version: string;
  /** The module's folder: a start error's first line names its file:line:column there. */
  dir: string;
  config: Record<string, unknown>;
  log: Logger;
  deps: Record<string, unknown>;
  previous: Handed;
  startMs: number;
  stopMs: number;
  host: HostControl;
  mounts: MountTable;
  stateDir: string;
  /** ctx.metrics (core/metrics): released when this incarnation stops. Without one, a registry of its own nobody scrapes. */
  metrics?: { readonly api: ModuleMetrics; release(): void };
  /** Called (once) when code running on this incarnation's behalf throws or rejects after start. */
  onCrash: (err: unknown) => void;
}

type Step = (TeardownStep & { kind: 'teardown' }) | { kind: 'handed'; key: string };

export class Run implements RunScope {
  readonly id: string;
  service: unknown;
  /** The ctx start(ctx) received (health(ctx) gets the same one); null before start. */
  ctx: ModuleContext | null = null;
  /** The exports start(ctx) was called on (health(ctx) is theirs); null before start. */
  exports: ModuleExports | null = null;
  private readonly controller = new AbortController();
  private readonly steps: Step[] = [];
  private readonly timers = new Set<() => void>();
  private readonly handed: Handed = new Map();
  private readonly bindings = new EventEmitter();
  private stopping: Promise<Handed> | null = null;
  /** Set when this incarnation begins to stop: whether its handed values go to a next one (core/isolation reads it). */
  handingOver = false;
  private crashed = false;
  private ownMetrics: RunOptions['metrics'];

  private get metrics(): NonNullable<RunOptions['metrics']> {
    this.ownMetrics ??= this.opts.metrics ?? new MetricsScope(this.id, new ModuleFamilies(new Registry()));
    return this.ownMetrics;
  }

  constructor(private readonly opts: RunOptions) {
    this.id = opts.id;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Runs start(ctx) inside this incarnation's scope; throws CHS_ERR_MODULE_START / CHS_ERR_START_TIMEOUT. */
  async start(exports: ModuleExports): Promise<unknown> {
    await mkdir(this.opts.stateDir, { recursive: true });
    const ctx = this.context();
    this.ctx = ctx;
    this.exports = exports;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.controller.abort(chsError('CHS_ERR_START_TIMEOUT', `${this.id}: start did not settle within ${this.opts.startMs} ms`));
        reject(this.controller.signal.reason);
      }, this.opts.startMs);
    });
    try {
      this.service = await Promise.race([runScope.run(this, () => Promise.resolve().then(() => exports.start(ctx))), deadline]);
      return this.service;
    } catch (err) {
      // A Cheshire error the module raised on purpose keeps its own code (CHS_ERR_ACCESS_POLICY...).
      if (/^CHS_ERR_/.test(String((err as { code?: unknown })?.code ?? ''))) throw err;
      const at = errorLocation(err, this.opts.dir);
      throw chsError('CHS_ERR_MODULE_START', `${this.id}: start threw${at ? ` at ${at}` : ''}: ${(err as Error)?.message ?? String(err)}`, err);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Releases everything in reverse order of registration. With `handover`, values registered
   * through handOver are returned instead of disposed. Idempotent; throws CHS_ERR_STOP_TIMEOUT or
   * CHS_ERR_MODULE_STOP (after releasing all it could).
   */
  stop(handover: boolean): Promise<Handed> {
    if (!this.stopping) this.handingOver = handover;
    this.stopping ??= this.release(handover);
    return this.stopping;
  }

  private async release(handover: boolean): Promise<Handed> {
    this.controller.abort(new Error(`${this.id} is stopping`));
    // Timers go first, before any teardown step: no callback may fire into a half-released module.
    for (const clear of this.timers) clear();
    this.timers.clear();
    const kept: Handed = new Map();
    const steps = [...this.steps].reverse().map((step): TeardownStep => {
      if (step.kind === 'teardown') return step;
      const h = this.handed.get(step.key)!;
      if (handover) return { label: `handOver("${step.key}")`, run: () => { kept.set(step.key, h); } };
      return { label: `handOver("${step.key}") dispose`, run: () => h.dispose(h.value), force: () => forceRelease(h.value) };
    });
    const { errors, overran } = await runTeardown(steps, this.opts.stopMs);
    this.metrics.release();
    this.bindings.removeAllListeners();
    if (overran) {
      const e = chsError('CHS_ERR_STOP_TIMEOUT', `${this.id}: teardown step ${overran} did not settle within ${this.opts.stopMs} ms; the steps after it ran and what they own was released by force`);
      (e as { kept?: Handed }).kept = kept;
      throw e;
    }
    if (errors.length) {
      const e = chsError('CHS_ERR_MODULE_STOP', `${this.id}: teardown threw: ${errors.map((x) => (x as Error)?.message ?? String(x)).join('; ')}`, errors[0]);
      (e as { kept?: Handed }).kept = kept;
      throw e;
    }
    return kept;
  }

  /** What the previous incarnation handed over and nobody took yet (key -> value), without taking it. */
  previousHanded(): ReadonlyMap<string, unknown> {
    return new Map([...this.opts.previous].map(([k, h]) => [k, h.value]));
  }

  trackTimer(clear: () => void): () => void {
    if (this.stopping) {
      clear();
      return () => {};
    }
    this.timers.add(clear);
    return () => this.timers.delete(clear);
  }

  crash(err: unknown): void {
    if (this.crashed || this.stopping) {
      this.opts.log.warn({ err }, `error after crash/stop: ${errorText(err).split('\n')[0]}`);
      return;
    }
    this.crashed = true;
    this.opts.onCrash(err);
  }

  /** Tells the instance's onBind/onUnbind listeners that a dynamic dependency came or went. */
  notify(as: string, event: 'bind' | 'unbind', service?: unknown): void {
    for (const fn of this.bindings.listeners(`${event}:${as}`)) {
      try {
        runScope.run(this, () => (fn as (s?: unknown) => void)(service));
      } catch (err) {
        this.crash(err);
      }
    }
  }

  private context(): ModuleContext {
    const o = this.opts;
    const previous = o.previous;
    const own = <T extends object>(resource: T): T => {
      trackConnections(resource);
      this.steps.push({ kind: 'teardown', label: `own(${resource.constructor?.name ?? 'resource'})`, run: () => releaseResource(resource), force: () => forceRelease(resource) });
      return resource;
    };
    return {
      id: o.id,
      name: o.name,
      version: o.version,
      config: Object.freeze(structuredClone(o.config)),
      log: o.log,
      deps: o.deps,
      signal: this.controller.signal,
      onStop: (fn) => {
        const n = this.steps.filter((x) => x.kind === 'teardown' && x.label.startsWith('onStop')).length + 1;
        this.steps.push({ kind: 'teardown', label: `onStop #${n}${fn.name ? ` (${fn.name})` : ''}`, run: fn });
      },
      own,
      handOver: (key, value, dispose) => {
        if (this.handed.has(key)) throw new Error(`${o.id}: handOver("${key}") called twice`);
        this.handed.set(key, { value, dispose: dispose as (v: unknown) => void });
        this.steps.push({ kind: 'handed', key });
        return value;
      },
      takeOver: <T>(key: string) => {
        const h = previous.get(key);
        if (!h) return undefined;
        previous.delete(key);
        return h.value as T;
      },
      onBind: (as, fn) => { this.bindings.on(`bind:${as}`, fn); },
      onUnbind: (as, fn) => { this.bindings.on(`unbind:${as}`, fn); },
      mount: (path, tree) => {
        const unmount = o.mounts.mount(o.id, path, tree);
        this.steps.push({ kind: 'teardown', label: `mount ${path}`, run: unmount });
      },
      host: o.host,
      stateDir: o.stateDir,
      metrics: this.metrics.api,
    };
  }
}

/** Closes whatever kind of resource it is given: servers, sockets, watchers, child processes. */
