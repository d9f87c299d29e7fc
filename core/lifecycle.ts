// The instance engine: starts and stops incarnations, resolves dependencies through the awilix
// container, keeps dependents in step with their providers (static: stop and restart in order;
// dynamic: bind/unbind notices), swaps versions transactionally, and applies the crash policy.
// Callers serialise access through Host's lock; nothing here takes it.
import { EventEmitter } from 'node:events';
import { asFunction, createContainer, type AwilixContainer } from 'awilix';
import { chsError, errorText } from './errors.ts';
import { dependencyEdges, bindingFor, providersFor } from './planner.ts';
import { dependentsOf, topoOrder } from './graph.ts';
import { dynamicHandle, type ProviderLookup } from './handles.ts';
import { errorInfo, type Code, type Instance } from './instance.ts';
import { Run, type Handed, type RunOptions } from './run.ts';
import { forceRelease, runTeardown, type TeardownStep } from './teardown.ts';
import type { MountTable } from './mounts.ts';
import type { ReloadTimeline } from './timeline.ts';
import type { HostControl, InstanceState, ModuleExports, ReloadTrigger, Requirement } from './types.ts';

export interface LifecycleEvents {
  state: [id: string, state: InstanceState];
  reloaded: [info: { id: string; version: string; hash: string; ms: number }];
  'reload-failed': [info: { id: string; error: Error }];
}

const mandatory = (r: Requirement) => r.cardinality === '1' || r.cardinality === '1..n';

export class Lifecycle extends EventEmitter<LifecycleEvents> {
  readonly instances = new Map<string, Instance>();
  private readonly container: AwilixContainer = createContainer({ strict: true });
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly loadCode: (inst: Instance) => Promise<Code>,
    private readonly opts: {
      waitMs: number;
      schedule: (inst: Instance, delayMs: number) => void;
      onCrash: (inst: Instance, run: Run, err: unknown) => void;
      host: HostControl;
      mounts: MountTable;
      /** Where an instance keeps its own files (ctx.stateDir). */
      stateDir: (id: string) => string;
      /** Where reloads and restarts are recorded (the dashboard's timeline). */
      timeline: ReloadTimeline;
      /** ctx.metrics of a new incarnation (core/metrics); released when it stops. */
      metrics?: (id: string) => RunOptions['metrics'];
      /** The exports an instance starts with, when not its code's own (an isolation override, core/isolation/override.ts). */
      exportsFor?: (inst: Instance, code: Code) => ModuleExports;
    },
  ) {
    super();
  }

  add(inst: Instance): void {
    this.instances.set(inst.id, inst);
    // The container resolves an instance id to its current service; it throws while inactive.
    this.container.register(inst.id, asFunction(() => {
      const run = this.instances.get(inst.id)?.run;
      if (!run || inst.state !== 'active') throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${inst.id} is ${inst.state}`);
      return run.service;
    }).transient());
  }

  /** Stops an instance for good and forgets it (its service id then resolves to nothing). */
  async remove(inst: Instance): Promise<void> {
    if (inst.backoffTimer) clearTimeout(inst.backoffTimer);
    inst.wanted = false;
    await this.stopRun(inst, false, 'stopped');
    this.instances.delete(inst.id);
    await this.reconcile();
  }

  private active(): Instance[] {
    return [...this.instances.values()].filter((i) => i.state === 'active' && i.run);
  }

  private setState(inst: Instance, state: InstanceState): void {
    if (inst.state === state) return;
    inst.state = state;
    this.emit('state', inst.id, state);
  }

  /**
   * The instances in dependency order (providers first). The edges take a semver check per
   * requirement and candidate (n² with n instances: ~40 ms at 1000), so the order is kept until
   * the set of instances or one of their descriptors changes (status() asks for it constantly).
   */
  order(): string[] {
    const memo = this.orderMemo;
    if (memo && memo.descs.size === this.instances.size && [...this.instances].every(([id, i]) => memo.descs.get(id) === i.desc)) return [...memo.order];
    const order = topoOrder([...this.instances.keys()], dependencyEdges(this.instances.values()));
    this.orderMemo = { descs: new Map([...this.instances].map(([id, i]) => [id, i.desc])), order };
    return [...order];
  }

  private orderMemo: { descs: Map<string, unknown>; order: string[] } | null = null;

  private lookup(dependent: Instance): ProviderLookup {
    return {
      current: (req) => {
        const ids = bindingFor(req, this.active()).map((p) => p.id);
        dependent.bound.set(req.as, ids);
        return ids.map((id) => this.container.resolve(id));
      },
      waitFor: (req, ms) =>
        new Promise((resolve, reject) => {
          const check = () => {
            const p = bindingFor(req, this.active())[0];
            if (!p) return false;
            cleanup();
            resolve(this.container.resolve(p.id));
            return true;
          };
          const timer = setTimeout(() => { cleanup(); reject(new Error('timeout')); }, ms);
          const cleanup = () => { clearTimeout(timer); this.waiters.delete(check); };
          if (!check()) this.waiters.add(check);
        }),
    };
  }

  private resolveDeps(inst: Instance): Record<string, unknown> {
    const deps: Record<string, unknown> = {};
    for (const req of inst.desc.requires) {
      if (req.policy === 'dynamic') {
        deps[req.as] = dynamicHandle(inst.id, req, this.lookup(inst), this.opts.waitMs);
        inst.bound.set(req.as, bindingFor(req, this.active()).map((p) => p.id));
        continue;
      }
      const providers = bindingFor(req, this.active());
      inst.bound.set(req.as, providers.map((p) => p.id));
      const services = providers.map((p) => this.container.resolve(p.id));
      deps[req.as] = req.cardinality === '1' || req.cardinality === '0..1' ? services[0] : services;
    }
    return deps;
  }

  private missing(inst: Instance): string[] {
    return inst.desc.requires.filter((r) => mandatory(r) && providersFor(r, this.active()).length === 0).map((r) => `${r.service}@${r.range}`);
  }

  /** Starts a new incarnation with `code` and `config`; on failure releases it, keeps what it was handed, throws. */
  async startRun(inst: Instance, code: Code, config: Record<string, unknown>): Promise<void> {
    const previous: Handed = inst.handed;
    inst.handed = new Map();
    inst.desc = code.desc;
    const run: Run = new Run({
      id: inst.id,
      name: code.desc.name,
      version: code.desc.version,
      dir: code.desc.dir,
      config,
      log: inst.log,
      deps: this.resolveDeps(inst),
      previous,
      startMs: code.desc.timeouts.startMs,
      stopMs: code.desc.timeouts.stopMs,
      onCrash: (err) => this.opts.onCrash(inst, run, err),
      host: this.opts.host,
      mounts: this.opts.mounts,
      stateDir: this.opts.stateDir(inst.id),
      metrics: this.opts.metrics?.(inst.id),
    });
    this.setState(inst, 'starting');
    try {
      await run.start(this.opts.exportsFor?.(inst, code) ?? code.exports);
    } catch (err) {
      let kept: Handed = new Map();
      try {
        kept = await run.stop(true);
      } catch (stopErr) {
        kept = (stopErr as { kept?: Handed }).kept ?? new Map();
        inst.log.warn({ err: stopErr }, 'teardown of the failed start threw');
      }
      inst.handed = new Map([...previous, ...kept]);
      throw err;
    }
    inst.run = run;
    inst.code = code;
    inst.config = config;
    inst.startedAt = Date.now();
    inst.waitingFor = [];
    this.setState(inst, 'active');
    await disposeAll(previous, inst);
    this.notifyDependents(inst, 'bind');
    for (const check of [...this.waiters]) check();
  }

  /** Stops the current incarnation; with handover its handed values are kept for the next one. */
  async stopRun(inst: Instance, handover: boolean, next: InstanceState): Promise<void> {
    const run = inst.run;
    if (!run) {
      if (!handover) await disposeAll(inst.handed, inst);
      this.setState(inst, next);
      return;
    }
    inst.run = null;
    this.setState(inst, 'stopping');
    this.notifyDependents(inst, 'unbind');
    let kept: Handed = new Map();
    try {
      kept = await run.stop(handover);
    } catch (err) {
      kept = (err as { kept?: Handed }).kept ?? new Map();
      inst.setError(err);
      inst.log.error({ err }, `stop failed: ${(err as Error).message}`);
    }
    inst.handed = handover ? kept : new Map();
    if (!handover) await disposeAll(inst.handed, inst);
    inst.startedAt = null;
    this.setState(inst, next);
  }

  private notifyDependents(provider: Instance, event: 'bind' | 'unbind'): void {
    for (const dep of this.instances.values()) {
      if (!dep.run || dep === provider) continue;
      for (const req of dep.desc.requires) {
        if (req.policy !== 'dynamic' || !providersFor(req, [provider]).length) continue;
        dep.bound.set(req.as, bindingFor(req, this.active()).map((p) => p.id));
        dep.run.notify(req.as, event, event === 'bind' ? provider.run?.service : undefined);
      }
    }
  }

  /** Crash policy: restart after backoff, or give up and mark failed. */
  async fail(inst: Instance, err: unknown): Promise<void> {
    const info = inst.setError(err);
    inst.log.error({ err }, `${info.message}`);
    const verdict = inst.crashes.crash();
    if (verdict.action === 'give-up') {
      await this.stopRun(inst, false, 'failed');
      const given = chsError('CHS_ERR_MODULE_FAILED', `${inst.id} crashed ${verdict.crashes} times; given up. Last error: ${info.message}`);
      given.stack = `${given.message}\n${info.stack}`;
      inst.setError(given);
      inst.log.error(given.message);
      return;
    }
    await this.stopRun(inst, true, 'backoff');
    inst.restarts++;
    inst.log.warn(`restarting in ${verdict.delayMs} ms (crash ${verdict.crashes})`);
    this.opts.schedule(inst, verdict.delayMs);
  }

  /**
   * Tries to start one instance that should run; returns whether it is active now. With
   * `restartOf` (a crash restart after backoff) the attempt goes on the reload timeline.
   */
  async tryStart(inst: Instance, restartOf?: 'crash'): Promise<boolean> {
    const missing = this.missing(inst);
    if (missing.length) {
      inst.waitingFor = missing;
      this.setState(inst, 'waiting');
      return false;
    }
    const t0 = performance.now();
    try {
      const code = inst.code ?? (await this.loadCode(inst));
      await this.startRun(inst, code, inst.config);
      if (restartOf) this.record(inst, restartOf, 'restart', t0, 'active');
      return true;
    } catch (err) {
      if (restartOf) this.record(inst, restartOf, 'restart', t0, 'failed', err);
      await this.fail(inst, err);
      return false;
    }
  }

  /**
   * Puts one reload or restart of `inst` on the timeline, about `code` (default: what it runs; a
   * failed reload names the version that failed, not the one restored after it).
   */
  record(inst: Instance, trigger: ReloadTrigger, kind: 'hot' | 'restart', t0: number, outcome: 'active' | 'refused' | 'failed', err?: unknown, code: Code | null = inst.code): void {
    const desc = code?.desc ?? inst.desc;
    this.opts.timeline.add({
      id: inst.id,
      module: desc.name,
      trigger,
      kind,
      ms: performance.now() - t0,
      outcome,
      version: desc.version,
      hash: code?.loaded.hash ?? null,
      error: err === undefined ? null : errorInfo(err, desc.dir),
    });
  }

  /** Brings every instance in line with its providers: stops broken static dependents, starts what can start. */
  async reconcile(): Promise<void> {
    const order = this.order();
    for (const id of [...order].reverse()) {
      const inst = this.instances.get(id)!;
      if (inst.state === 'active' && this.staticBroken(inst)) await this.stopRun(inst, true, 'waiting');
    }
    for (const id of order) {
      const inst = this.instances.get(id)!;
      if (inst.wanted && (inst.state === 'planned' || inst.state === 'waiting')) await this.tryStart(inst);
    }
  }

  private staticBroken(inst: Instance): boolean {
    return inst.desc.requires.some((r) => {
      if (r.policy !== 'static') return false;
      const bound = inst.bound.get(r.as) ?? [];
      if (mandatory(r) && bound.length === 0) return true;
      return bound.some((id) => this.instances.get(id)?.state !== 'active');
    });
  }

  /**
   * The reload transaction for `targets`: their static dependents stop (reverse order), each
   * target is replaced by `next(inst)` (new code and/or config), and on failure its previous
   * version is restarted; then dependents start again in order. Returns per-target errors.
   */
  async replace(targets: Instance[], next: (inst: Instance) => { code: Code; config: Record<string, unknown> }, t0: number, trigger: ReloadTrigger = 'save'): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    const staticEdges = dependencyEdges(this.instances.values(), 'static');
    const dependents = new Set<string>();
    for (const t of targets) for (const d of dependentsOf(t.id, staticEdges)) dependents.add(d);
    for (const t of targets) dependents.delete(t.id);
    const order = this.order();
    const restarted: Instance[] = [];
    for (const id of [...order].reverse()) {
      const inst = this.instances.get(id)!;
      if (dependents.has(id) && inst.state === 'active') {
        await this.stopRun(inst, true, 'waiting');
        restarted.push(inst);
      }
    }
    for (const inst of targets) {
      const { code, config } = next(inst);
      if (inst.state !== 'active') {
        // Not running: adopt the new code/config; a failed or backed-off instance gets a fresh chance.
        inst.code = code;
        inst.desc = code.desc;
        inst.config = config;
        if (inst.state === 'failed' || inst.state === 'backoff') {
          if (inst.backoffTimer) clearTimeout(inst.backoffTimer);
          inst.crashes.reset();
          this.setState(inst, 'waiting');
        }
        continue;
      }
      const old = { code: inst.code!, config: inst.config };
      const kind = code.loaded.hash === old.code.loaded.hash ? 'restart' : 'hot';
      await this.stopRun(inst, true, 'stopping');
      try {
        await this.startRun(inst, code, config);
        inst.reloads++;
        const ms = Math.round(performance.now() - t0);
        inst.log.info({ version: code.desc.version, hash: code.loaded.hash, ms }, `${inst.id} reloaded v${code.desc.version} #${code.loaded.hash} in ${ms} ms`);
        this.record(inst, trigger, kind, t0, 'active');
        this.emit('reloaded', { id: inst.id, version: code.desc.version, hash: code.loaded.hash, ms });
      } catch (err) {
        failures.set(inst.id, err as Error);
        inst.setError(err);
        inst.log.error({ err }, `reload failed, restoring v${old.code.desc.version} #${old.code.loaded.hash}: ${(err as Error).message}`);
        this.record(inst, trigger, kind, t0, 'failed', err, code);
        this.emit('reload-failed', { id: inst.id, error: err as Error });
        try {
          await this.startRun(inst, old.code, old.config);
        } catch (err2) {
          await this.fail(inst, err2);
        }
      }
    }
    await this.reconcile();
    for (const inst of restarted) {
      if (this.instances.get(inst.id) !== inst) continue;
      this.record(inst, 'dependency', 'restart', t0, inst.state === 'active' ? 'active' : 'failed', inst.state === 'active' ? undefined : (inst.lastError ?? `${inst.id} is ${inst.state}`));
    }
    return failures;
  }

  /** Stops everything, dependents first. */
  async stopAll(): Promise<void> {
    for (const id of [...this.order()].reverse()) {
      const inst = this.instances.get(id)!;
      if (inst.backoffTimer) clearTimeout(inst.backoffTimer);
      await this.stopRun(inst, false, 'stopped');
    }
  }
}

/**
 * Disposes what a previous version handed over and nobody took, under the instance's stop
 * deadline: a dispose that hangs cannot hold the host's lock, and what it held is forced.
 */
async function disposeAll(handed: Handed, inst: Instance): Promise<void> {
  const steps = [...handed].reverse().map(([key, h]): TeardownStep => ({ label: `handOver("${key}") dispose`, run: () => h.dispose(h.value), force: () => forceRelease(h.value) }));
  handed.clear();
  const { errors, overran } = await runTeardown(steps, inst.desc.timeouts.stopMs);
  for (const err of errors) inst.log.warn(`disposing a handed-over value threw: ${errorText(err)}`);
  if (overran) inst.log.warn(`${inst.id}: ${overran} did not settle within ${inst.desc.timeouts.stopMs} ms; released by force`);
}

