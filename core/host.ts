// The host: reads cheshire.json and the role, plans and starts the instances, watches files and
// reloads what changed, applies config changes as revisions, and falls back to failsafe mode when
// the configured start-up fails as a whole. Every lifecycle operation runs under one lock.
import { EventEmitter } from 'node:events';
import { dirname, join, resolve, sep } from 'node:path';
import picomatch from 'picomatch';
import { bundleModule, type LoadedCode } from './loader.ts';
import { codeExports, exportsFor, overriddenDescriptor } from './isolation/override.ts';
import { preloadIsolated } from './isolation/host.ts';
import type { IsolationOverride } from './isolation/override-schema.ts';
import { discoverModules } from './discover.ts';
import { chsError, errorText } from './errors.ts';
import { findCycle } from './graph.ts';
import { Instance, type Code, type ErrorInfo } from './instance.ts';
import { Lifecycle } from './lifecycle.ts';
import { createLogging, type HostLogging } from './log.ts';
import { Mutex } from './mutex.ts';
import { dependencyEdges, effectiveConfig, planInstances } from './planner.ts';
import { guardProcess, stackMentions } from './process-guard.ts';
import { runModuleTests, type TestResult } from './module-tests.ts';
import { Watcher, relativeTo, type WatchTarget } from './watcher.ts';
import { extraEntries, moduleSearchDirs, loadNodeConfig, loadRole, parseNodeConfig, roleFile, type NodeConfig, type RolePreset } from './config/node-config.ts';
import { RevisionStore } from './config/revisions.ts';
import { sweepDebris } from './config/debris.ts';
import { ConfigApplier, type ConfigHost } from './config/apply.ts';
import { supervisorHooks } from './supervisor.ts';
import { ReloadTypecheck } from './typecheck/on-reload.ts';
import { promoteInto, Reloader, type ReloadHost, type ReloadSource } from './reload.ts';
import { InstanceSet, readSources, type InstanceSetHost } from './instance-set.ts';
import { DEFAULT_SUPERVISOR } from './supervisor.ts';
import type { Planned } from './planner.ts';
import { VersionStore } from './history/index.ts';
import { installModule, moduleStoreDir, uninstallModule, type InstallResult, type InstalledModule } from './install/index.ts';
import type { HistoryEntry } from './history/types.ts';
import type { Run } from './run.ts';
import { MountTable } from './mounts.ts';
import { loadOrCreateIdentity, type Identity } from './identity.ts';
import { hostControl } from './host-control.ts';
import { Watchdog } from './watchdog/index.ts';
import { ReloadTimeline } from './timeline.ts';
import { CHESHIRE_VERSION } from './version.ts';
import { HealthMonitor } from './health/index.ts';
import { NodeMetrics } from './metrics/index.ts';
import type { Descriptor, HealthResult, HostControl, ModuleExports, NodeStatus } from './types.ts';

export type { NodeStatus };

/** How long a requested shutdown waits before it starts (the requester reads its answer meanwhile). */
const SHUTDOWN_GRACE_MS = 250;

export interface HostOptions {
  /** Path of cheshire.json. */
  configFile: string;
  /** Overrides the config's role. */
  role?: string;
  logging?: HostLogging;
  /** Overrides config.watch.enabled. */
  watch?: boolean;
}

export class Host extends EventEmitter<{ status: []; failsafe: [ErrorInfo]; booted: []; shutdown: [reason: string] }> {
  readonly logging: HostLogging;
  readonly configFile: string;
  readonly base: string;
  config: NodeConfig | null = null;
  role: RolePreset | null = null;
  failsafe: ErrorInfo | null = null;
  configError: ErrorInfo | null = null;
  readonly mounts = new MountTable();
  /** Every reload and restart, for the dashboard, the metrics and the tree (core/timeline.ts). */
  readonly timeline = new ReloadTimeline();
  /** When this host was made (status().startedAt). */
  readonly startedAt = new Date().toISOString();
  /** The control surface modules get as ctx.host. */
  readonly control: HostControl = hostControl(this);
  /** Health checks of active instances (core/health); a change of verdict is a status change. */
  private readonly healthChecks = new HealthMonitor(() => this.emit('status'));
  /** The node's Prometheus registry: its own metrics and the ones modules register (core/metrics). */
  readonly nodeMetrics = new NodeMetrics({ status: () => this.status(), onReload: (fn) => this.timeline.subscribe(fn) });
  private engine: Lifecycle = this.newEngine();
  private readonly lock = new Mutex();
  private readonly codes = new Map<string, Code>();
  private watcher: Watcher | null = null;
  revisions: RevisionStore | null = null;
  private unguard: (() => void) | null = null;
  /** Event-loop stalls and memory (core/watchdog); started before boot, so a stuck start is caught. */
  private watchdog: Watchdog | null = null;
  private closing: Promise<void> | null = null;
  /** Whether the start-up sweep of dead writers' temp files ran (core/config/debris.ts). */
  private swept = false;
  /** The node's ed25519 identity (loaded at boot from <stateDir>/node.key, created if absent). */
  identity: Identity | null = null;
  /** The type check of reloaded modules, by their descriptor's `typecheck` policy. */
  private readonly typecheck = new ReloadTypecheck({
    enabled: () => this.config?.typecheck.enabled ?? true,
    idleMs: () => this.config?.typecheck.idleMs ?? 120_000,
  });
  /** Every version that became active, kept for rollback (core/history). */
  history: VersionStore | null = null;
  /** The reload transaction and rollback (core/reload.ts). */
  private readonly reloader = new Reloader(this.reloadHost());
  /** enable/disable: which instances the node runs (core/instance-set.ts). */
  private readonly instanceSet = new InstanceSet(this.instanceSetHost());
  /** Runtime config changes and hand edits of cheshire.json (core/config/apply.ts). */
  readonly configs = new ConfigApplier(this.configHost());

  constructor(private readonly opts: HostOptions) {
    super();
    this.configFile = resolve(opts.configFile);
    this.base = dirname(this.configFile);
    this.logging = opts.logging ?? createLogging();
  }

  /** Absolute state directory (cheshire.json's stateDir). */
  get stateRoot(): string {
    return resolve(this.base, this.config?.stateDir ?? '.cheshire');
  }

  get log() {
    return this.logging.root;
  }

  get instances(): ReadonlyMap<string, Instance> {
    return this.engine.instances;
  }

  /** Boots the configured role (or failsafe mode) and starts watching. Never throws for bad config. */
  async start(): Promise<this> {
    this.unguard = guardProcess({
      scopeForStack: (stack) => [...this.engine.instances.values()].find((i) => i.run && stackMentions(stack, i.desc.dir))?.run ?? undefined,
      hostError: (kind, err) => this.log.error({ err }, `${kind} outside any module: ${(err as Error)?.message ?? String(err)}`),
    });
    this.watchdog = new Watchdog({
      log: this.log,
      instances: () => this.engine.instances.values(),
      config: () => this.config?.watchdog ?? null,
      stateDir: () => (this.config ? this.stateRoot : null),
    });
    await this.lock.run(() => this.boot());
    this.watchdog.refresh();
    return this;
  }

  private newEngine(): Lifecycle {
    const engine = new Lifecycle((inst) => this.codeFor(inst.desc), {
      waitMs: this.config?.dependencies.waitMs ?? 5_000,
      ...supervisorHooks<Instance, Run>({
        current: () => this.engine,
        isCurrent: (inst, run) => inst.run === run,
        lock: (fn) => this.lock.run(fn),
      }),
      host: this.control,
      mounts: this.mounts,
      stateDir: (id) => join(this.stateRoot, 'modules', encodeURIComponent(id)),
      timeline: this.timeline,
      metrics: (id) => this.nodeMetrics.scope(id),
      // cheshire.json's "isolation" over the role's, over the descriptor's.
      exportsFor: (inst, code) => exportsFor(code, this.isolationOf(inst.id)),
    });
    engine.on('state', (id, state) => {
      const inst = engine.instances.get(id);
      if (inst) this.healthChecks.update(inst);
      if (state === 'backoff' || state === 'failed') this.nodeMetrics.crashed(id);
      const code = state === 'active' ? engine.instances.get(id)?.code : null;
      if (code) this.reloader.activeOutsideReload(code);
      this.emit('status');
    });
    return engine;
  }

  private async boot(): Promise<void> {
    await this.engine.stopAll(); // the previous set, or failsafe's minimal one
    try {
      this.config = await loadNodeConfig(this.configFile);
      this.attachLogFiles();
      this.role = await loadRole(this.opts.role ?? this.config.role, this.base);
      this.configError = null;
      this.revisions = new RevisionStore(join(this.stateRoot, 'revisions'));
      this.history = new VersionStore(join(this.stateRoot, 'history'));
      if (!this.swept) {
        this.swept = true;
        const debris = await sweepDebris([{ dir: this.stateRoot, depth: 4 }, { dir: this.base, depth: 0 }]);
        if (debris.removed.length) this.log.info(`removed ${debris.removed.length} temp file(s) left by a killed process: ${debris.removed.slice(0, 3).join(', ')}${debris.removed.length > 3 ? ', ...' : ''}`);
        for (const e of debris.errors) this.log.warn(`cannot remove a leftover temp file: ${e}`);
      }
      this.identity ??= await loadOrCreateIdentity(join(this.stateRoot, 'node.key'));
      this.engine = this.newEngine();
      this.codes.clear();
      const found = discoverModules(moduleSearchDirs(this.config, this.base), this.base);
      for (const bad of found.invalid) this.log.warn({ err: bad.error }, bad.error.message);
      const own = readSources(this.config, this.base);
      const { planned, errors, skipped } = planInstances(this.role.modules, found.modules, { optional: extraEntries(this.role, this.config), sources: own.sources });
      skipped.push(...own.errors);
      if (errors.length) throw errors[0];
      // An instance cheshire.json configures beyond the role, naming no module: the node runs
      // without it and says so (status configError, log), rather than ignoring it.
      if (skipped.length) this.refuseConfigAt(skipped[0]!, `${this.configFile}: an instance it adds to the role cannot run`);
      const cycle = findCycle(dependencyEdges(planned.values()));
      if (cycle) throw chsError('CHS_ERR_DEP_CYCLE', `dependency cycle: ${cycle.join(' -> ')}`);
      for (const p of planned.values()) {
        const inst = this.newInstance(p, effectiveConfig(p.id, p.desc, this.role.config[p.id], this.config.modules[p.id]));
        if (this.config.disabled.includes(p.id)) {
          inst.disabled = true;
          inst.wanted = false;
          inst.state = 'stopped';
        }
        this.engine.add(inst);
      }
      for (const inst of this.engine.instances.values()) await this.revisions.record(inst.id, inst.config, 'start');
      const pruned = await this.configs.prune();
      if (pruned) this.log.info(`pruned ${pruned} config revision(s) past the retention (cheshire.json "revisions")`);
      // Watch before starting anything: a save made the moment a module answers must not be missed.
      await this.updateWatch();
      await this.engine.reconcile();
      for (const id of this.role.required) {
        const inst = this.engine.instances.get(id);
        if (!inst) throw chsError('CHS_ERR_INSTANCE_NOT_FOUND', `required instance "${id}" is not part of role "${this.role.name}"`);
        if (inst.state !== 'active') throw new Error(`required instance ${id} did not start: ${inst.lastError?.message ?? inst.state}`, { cause: inst.lastError });
      }
      this.failsafe = null;
      const active = [...this.engine.instances.values()].filter((i) => i.state === 'active').length;
      this.log.info(`node ${this.config.node} up: role ${this.role.name}, ${active}/${this.engine.instances.size} instances active`);
      this.emit('booted');
    } catch (err) {
      await this.enterFailsafe(err);
    }
    this.emit('status');
    await this.updateWatch();
  }

  private async enterFailsafe(err: unknown): Promise<void> {
    if (!this.logging.hub.store.attached) this.attachLogFiles();
    await this.engine.stopAll();
    const e = err instanceof Error ? err : new Error(String(err));
    const cause = (e as { cause?: ErrorInfo }).cause;
    this.failsafe = {
      code: (e as { code?: string }).code ?? cause?.code ?? 'CHS_ERR_MODULE_START',
      message: e.message,
      stack: cause?.stack ? `${e.message}\n${cause.stack}` : errorText(e),
      at: new Date().toISOString(),
    };
    this.log.error({ err: { message: this.failsafe.message, stack: this.failsafe.stack } }, `failsafe mode: ${this.failsafe.message} (fix the config or module; it is picked up without a restart)`);
    await this.bootMinimal();
    this.emit('failsafe', this.failsafe);
  }

  /**
   * Failsafe's minimal set: the `failsafe` role (the 9P control tree), from the node's own module
   * directories and with the last good config, so the operator can look in and fix things.
   */
  private async bootMinimal(): Promise<void> {
    try {
      const role = await loadRole('failsafe', this.base);
      const cfg = this.config ?? parseNodeConfig({}, this.configFile);
      const { planned } = planInstances(role.modules, discoverModules(moduleSearchDirs(cfg, this.base), this.base).modules);
      this.engine = this.newEngine();
      for (const p of planned.values()) {
        let config: Record<string, unknown>;
        try {
          config = effectiveConfig(p.id, p.desc, role.config[p.id], cfg.modules[p.id]);
        } catch {
          config = effectiveConfig(p.id, p.desc, role.config[p.id]);
        }
        this.engine.add(new Instance(p.id, p.desc, config, this.log.child({ module: p.id }), cfg.supervisor));
      }
      await this.engine.reconcile();
    } catch (err) {
      this.log.warn(`failsafe: the minimal set did not start: ${(err as Error).message}`);
    }
  }

  private newInstance(p: Planned, config: Record<string, unknown>): Instance {
    return new Instance(p.id, p.desc, config, this.log.child({ module: p.id }), this.config?.supervisor ?? DEFAULT_SUPERVISOR);
  }

  private refuseConfigAt(err: Error, context: string): void {
    this.configError = { code: (err as { code?: string }).code ?? 'CHS_ERR_CONFIG_INVALID', message: `${context}: ${err.message}`, stack: errorText(err), at: new Date().toISOString() };
    this.log.error(this.configError.message);
  }

  /** Adds an instance to the running node (or starts a disabled one again); see core/instance-set.ts. */
  enable(entry: string, override?: Record<string, unknown>, from?: string): Promise<string[]> {
    return this.lock.run(() => this.instanceSet.enable(entry, override, true, from));
  }

  /** Stops an instance and keeps it stopped across restarts. */
  disable(id: string): Promise<void> {
    return this.lock.run(() => this.instanceSet.disable(id));
  }

  /** The instance set's view of the host. */
  private instanceSetHost(): InstanceSetHost {
    const host = this;
    return {
      engine: () => this.engine,
      get config() { return host.config; },
      get role() { return host.role; },
      get base() { return host.base; },
      get log() { return host.log; },
      get revisions() { return host.revisions; },
      get configs() { return host.configs; },
      newInstance: (p, config) => this.newInstance(p, config),
      updateWatch: () => this.updateWatch(),
      changed: () => this.emit('status'),
    };
  }

  /** A folder's code evaluated, except where every instance of it is isolated by override (core/isolation/override.ts). */
  private evaluate(desc: Descriptor, loaded: LoadedCode): ModuleExports {
    return codeExports(desc, loaded, this.overridesOf(desc.dir));
  }

  /** The isolation overrides of the instances that run from module folder `dir`. */
  private overridesOf(dir: string): Array<IsolationOverride | undefined> {
    return [...this.engine.instances.values()].filter((i) => i.desc.dir === dir).map((i) => this.isolationOf(i.id));
  }

  /**
   * A reload's new code, evaluated where its isolated instances will run: a warm spare of each
   * one's shape evaluates it now, as the host does for in-process ones, while the current versions
   * still serve. All are awaited (none left unobserved); the first failure refuses the reload.
   */
  private async prepared(desc: Descriptor, loaded: LoadedCode): Promise<void> {
    const pending: Array<Promise<void>> = [];
    for (const o of this.overridesOf(desc.dir)) {
      const p = preloadIsolated(overriddenDescriptor(desc, o), loaded);
      if (p) pending.push(p);
    }
    const results = await Promise.allSettled(pending);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private isolationOf(id: string): IsolationOverride | undefined {
    return this.config?.isolation[id] ?? this.role?.isolation[id];
  }

  /** Current code of a module folder, bundled and evaluated once per content. */
  private async codeFor(desc: Descriptor): Promise<Code> {
    const have = this.codes.get(desc.dir);
    if (have && have.desc.version === desc.version) return have;
    const loaded = await bundleModule(desc);
    const code = { desc, loaded, exports: this.evaluate(desc, loaded) };
    this.codes.set(desc.dir, code);
    return code;
  }

  private async updateWatch(): Promise<void> {
    const enabled = this.opts.watch ?? this.config?.watch.enabled ?? true;
    if (!enabled) return;
    this.watcher ??= new Watcher((key, since) => this.onChange(key, since), this.config?.watch.debounceMs ?? 2);
    const targets: WatchTarget[] = [{ key: 'config', path: this.configFile, accepts: () => true }];
    if (this.role) targets.push({ key: 'config', path: roleFileOrNull(this.role.name, this.base) ?? this.configFile, accepts: () => true });
    const dirs = new Map<string, Descriptor>();
    for (const inst of this.engine.instances.values()) dirs.set(inst.desc.dir, inst.desc);
    if (this.failsafe) {
      for (const d of discoverModules(this.config ? moduleSearchDirs(this.config, this.base) : ['modules'], this.base).modules) dirs.set(d.dir, d);
    }
    for (const [dir, desc] of dirs) {
      const match = picomatch(desc.watch, { dot: false });
      targets.push({ key: dir, path: dir, accepts: (f) => { const rel = relativeTo(dir, f); return rel === 'package.json' || match(rel); } });
    }
    // Source files a module bundles from beside its folder (a sibling module's, by path) reload it too.
    for (const [dir, code] of this.codes) {
      for (const file of code.loaded.files) {
        if (!file.startsWith(dir + sep) && !file.includes(`${sep}node_modules${sep}`)) targets.push({ key: dir, path: file, accepts: () => true });
      }
    }
    this.watcher.setTargets(targets);
    await this.watcher.ready;
  }

  private async onChange(key: string, since: number): Promise<void> {
    if (this.closing) return;
    if (this.failsafe) {
      this.log.info(`${key === 'config' ? 'config' : key} changed: retrying start-up`);
      await this.lock.run(() => this.boot());
      return;
    }
    if (key === 'config') await this.configs.onFileChange();
    else await this.reloadDir(key, since, false);
  }

  /** The reload transaction for one module folder (core/reload.ts). */
  reloadDir(dir: string, since = performance.now(), force = false, only?: string, source: ReloadSource = 'save'): Promise<Map<string, Error>> {
    return this.reloader.reloadDir(dir, { since, force, only, source });
  }

  /** The reloader's view of the host. */
  private reloadHost(): ReloadHost {
    const host = this;
    return {
      engine: () => this.engine,
      lock: (fn) => this.lock.run(fn),
      codes: this.codes,
      configFor: (id, desc) => effectiveConfig(id, desc, this.role?.config[id], this.config?.modules[id]),
      typecheck: this.typecheck,
      history: () => this.history,
      get log() { return host.log; },
      activated: async () => { if (this.watcher) await this.updateWatch(); },
      quiet: (dir, fn) => (this.watcher ? this.watcher.hold(dir, fn) : fn()),
      changed: () => this.emit('status'),
      evaluate: (desc, loaded) => this.evaluate(desc, loaded),
      prepared: (desc, loaded) => this.prepared(desc, loaded),
    };
  }

  /** Makes history revision `rev` of an instance's module active again (default: the previous active version). */
  rollback(id: string, rev?: number): Promise<HistoryEntry> {
    return this.reloader.rollback(this.instance(id), rev);
  }

  /**
   * Makes the code `id` (an instance run from a folder of its own, e.g. `hello#beta`) runs the
   * code of its module's main instance (`hello`): a reload of `hello` recorded in its history as
   * 'promote'; then `id` is removed from the node. On failure both keep running as they were.
   */
  async promote(id: string): Promise<HistoryEntry> {
    const from = this.instance(id);
    const to = this.engine.instances.get(from.desc.name);
    if (!to || to === from) throw chsError('CHS_ERR_INSTANCE_NOT_FOUND', `promote ${id}: no instance "${from.desc.name}" of module ${from.desc.name} to promote it into`);
    if (to.desc.dir === from.desc.dir) throw chsError('CHS_ERR_PROMOTE', `promote ${id}: it runs from the same folder as ${to.id} (${to.desc.dir}); enable it with --from DIR to try other code beside it`);
    if (!this.history) throw chsError('CHS_ERR_HOST_STOPPED', 'the node is in failsafe mode or shutting down');
    const entry = await promoteInto(this.reloader, this.history, from, to, (dir, fn) => (this.watcher ? this.watcher.hold(dir, fn) : fn()), (dir) => this.codes.get(dir)?.loaded.files);
    await this.lock.run(() => this.instanceSet.drop(id));
    return entry;
  }

  /** Installs a module into this node's store (<stateDir>/modules-store); `enable` then runs it. */
  async install(spec: string): Promise<InstallResult> {
    if (!this.config) throw chsError('CHS_ERR_HOST_STOPPED', 'the node is in failsafe mode or shutting down');
    const r = await installModule(spec, { storeDir: moduleStoreDir(this.stateRoot) });
    this.log.info(`installed ${r.name}@${r.version} from ${r.resolved} (${r.integrity})`);
    return r;
  }

  /** Takes `name` or `name@version` out of this node's store; refused while an instance (not stopped) runs it. */
  async uninstall(spec: string): Promise<InstalledModule[]> {
    if (!this.config) throw chsError('CHS_ERR_HOST_STOPPED', 'the node is in failsafe mode or shutting down');
    const at = spec.lastIndexOf('@');
    const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
    return this.lock.run(() => {
      const running = new Set([...this.engine.instances.values()].filter((i) => i.state !== 'stopped' && i.state !== 'failed').map((i) => i.desc.dir));
      return uninstallModule(moduleStoreDir(this.stateRoot), name, version, (dir) => running.has(dir));
    });
  }

  /** The version history of an instance's module, oldest first. */
  async versions(id: string): Promise<HistoryEntry[]> {
    const inst = this.instance(id);
    if (!this.history) return [];
    await this.reloader.settled();
    return this.history.list(inst.desc.name);
  }

  /** The view of the host the config applier works through. */
  private configHost(): ConfigHost {
    const host = this;
    return {
      get configFile() { return host.configFile; },
      get base() { return host.base; },
      get roleOverride() { return host.opts.role; },
      get config() { return host.config; },
      set config(c) { host.config = c; },
      get role() { return host.role; },
      set role(r) { host.role = r; },
      get configError() { return host.configError; },
      set configError(e) { host.configError = e; },
      get revisions() { return host.revisions; },
      get log() { return host.log; },
      instance: (id) => this.instance(id),
      instanceIds: () => [...this.engine.instances.keys()],
      codeOf: (inst) => inst.code ?? this.codes.get(inst.desc.dir)!,
      replace: async (inst, code, config) => (await this.engine.replace([inst], () => ({ code, config }), performance.now(), 'config')).get(inst.id),
      lock: (fn) => this.lock.run(fn),
      reboot: () => this.boot(),
      syncInstances: (next) => this.instanceSet.sync(next),
      changed: () => this.emit('status'),
    };
  }

  instance(id: string): Instance {
    const inst = this.engine.instances.get(id);
    if (!inst) throw chsError('CHS_ERR_INSTANCE_NOT_FOUND', `no instance "${id}" on this node (have: ${[...this.engine.instances.keys()].join(', ') || 'none'})`);
    return inst;
  }

  /** `reload M`: fresh code from disk even if unchanged. Throws the failure if the reload failed. */
  async reload(id: string): Promise<void> {
    const inst = this.instance(id);
    const failures = await this.reloadDir(inst.desc.dir, performance.now(), true, id, 'ctl');
    const err = failures.get(id);
    if (err) throw err;
  }

  async stopInstance(id: string): Promise<void> {
    await this.lock.run(async () => {
      const inst = this.instance(id);
      inst.wanted = false;
      if (inst.backoffTimer) clearTimeout(inst.backoffTimer);
      await this.engine.stopRun(inst, false, 'stopped');
      inst.log.info(`${id} stopped`);
      await this.engine.reconcile();
    });
  }

  async startInstance(id: string): Promise<void> {
    await this.lock.run(async () => {
      const inst = this.instance(id);
      inst.wanted = true;
      if (inst.state === 'active') return;
      if (inst.backoffTimer) clearTimeout(inst.backoffTimer);
      inst.crashes.reset();
      inst.state = 'waiting';
      await this.engine.reconcile();
    });
  }

  async testInstance(id: string): Promise<TestResult> {
    return runModuleTests(this.instance(id).desc);
  }

  status(): NodeStatus {
    return {
      node: this.config?.node ?? 'cheshire',
      role: this.role?.name ?? this.opts.role ?? this.config?.role ?? '?',
      pid: process.pid,
      startedAt: this.startedAt,
      versions: { cheshire: CHESHIRE_VERSION, node: process.versions.node },
      publicKey: this.identity?.publicKey ?? null,
      failsafe: this.failsafe,
      configError: this.configError,
      instances: this.engine.order().map((id) => this.engine.instances.get(id)!).map((i) => {
        const st = i.status();
        return { ...(this.watchdog?.decorate(st) ?? st), health: this.healthChecks.result(i) };
      }),
      ...(this.watchdog ? { watchdog: this.watchdog.status() } : {}),
    };
  }

  /** The latest health of every instance in node order, or of one (core/health). */
  health(id?: string): HealthResult[] {
    const ids = id === undefined ? this.engine.order() : [this.instance(id).id];
    return ids.map((i) => this.healthChecks.result(this.engine.instances.get(i)!));
  }

  /** The node's metrics as Prometheus text (core/metrics). */
  metrics(): Promise<{ contentType: string; text: string }> {
    return this.nodeMetrics.text();
  }

  /**
   * A request to stop the whole node (`cheshire stop`, the `shutdown` command on /ctl): the
   * process that owns the host (the CLI) listens for `shutdown`, closes the host and exits; with
   * no owner listening the host just closes. Starts SHUTDOWN_GRACE_MS later, so the client that
   * asked (a ctl write) can still read its answer.
   */
  requestShutdown(reason: string): void {
    setTimeout(() => {
      this.log.info(`shutdown requested: ${reason}`);
      if (this.listenerCount('shutdown')) this.emit('shutdown', reason);
      else void this.close();
    }, SHUTDOWN_GRACE_MS);
  }

  /** Stops everything in reverse dependency order and releases watchers. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.watcher?.close();
      await this.lock.run(() => this.engine.stopAll());
      await this.typecheck.close();
      await this.watchdog?.close();
      this.healthChecks.close();
      this.nodeMetrics.close();
      await this.reloader.settled();
      this.unguard?.();
      this.log.info('host stopped');
      await this.logging.hub.close();
    })();
    return this.closing;
  }

  /** Log files go to <stateDir>/logs from now on (core/logs), rotated as cheshire.json's `logs` says. */
  private attachLogFiles(): void {
    try {
      this.logging.hub.attach(join(this.stateRoot, 'logs'), this.config?.logs);
    } catch (err) {
      this.log.error({ err }, `CHS_ERR_LOG_FILE: log files cannot be written under ${join(this.stateRoot, 'logs')}: ${(err as Error).message}`);
    }
  }
}

function roleFileOrNull(role: string, base: string): string | null {
  try {
    return roleFile(role, base);
  } catch {
    return null;
  }
}
