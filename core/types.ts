// The module contract as types: the static descriptor (read without running module code),
// the context a module's start(ctx) receives, the states an instance moves through, and the
// shapes of what ctx.host reports. This file imports nothing of the host: the host implements
// these types, modules see them through cheshire/sdk.
import type { Logger } from 'pino';
import type { Counter, CounterConfiguration, Gauge, GaugeConfiguration, Histogram, HistogramConfiguration } from 'prom-client';
import type { HistoryEntry } from './history/types.ts';

export type { HistoryEntry };

export type Policy = 'static' | 'dynamic';
export type Cardinality = '1' | '0..1' | '0..n' | '1..n';
export type TypecheckPolicy = 'warn' | 'refuse' | 'off';
/** Where a module's instances run: in the host's thread (`none`), or each incarnation in its own worker thread (`worker`) or child process (`process`). */
export type Isolation = 'none' | 'worker' | 'process';

/** Resource limits of an isolated module's worker (worker_threads' resourceLimits) or process (as V8 flags), in MB. */
export interface IsolationLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

/** One entry of a descriptor's `requires`. */
export interface Requirement {
  /** Service name a provider lists in `provides`. */
  service: string;
  /** semver range the provider module's version must satisfy (default `*`). */
  range: string;
  policy: Policy;
  cardinality: Cardinality;
  /** Key under ctx.deps (default: the service name). */
  as: string;
}

/** The static descriptor: `package.json` name/version plus its `cheshire` field. */
export interface Descriptor {
  name: string;
  version: string;
  description: string;
  /** Absolute folder of the module. */
  dir: string;
  /** Entry file, relative to dir (default `index.ts`). */
  entry: string;
  provides: string[];
  requires: Requirement[];
  /** JSON Schema of the instance config (an object schema). */
  configSchema: Record<string, unknown>;
  /** Defaults merged under the instance config before validation. */
  configDefaults: Record<string, unknown>;
  /** Globs (relative to dir) whose changes reload the module. */
  watch: string[];
  /** Test files (relative to dir) and whether they gate activation of a new version. */
  test: { files: string[]; beforeActivate: boolean };
  /** stallMs / callMs: isolated modules only (heartbeat threshold, deadline of a call across; docs/modules.md "Isolation"). */
  timeouts: { startMs: number; stopMs: number; stallMs?: number; callMs?: number };
  /** Type-check policy of a reload (default `warn`): `warn` checks after activation and logs
   *  the diagnostics; `refuse` checks before activation and a type error fails the reload. */
  typecheck: TypecheckPolicy;
  /** How often the host calls the module's `health(ctx)` export, and how long one call may take (core/health). */
  health: { intervalMs: number; timeoutMs: number };
  /** `worker` / `process`: each incarnation runs in its own worker thread / child process (core/isolation; docs/modules.md, "Isolation"). Default `none`. */
  isolation: Isolation;
  /** The isolate's resource limits (isolation `worker` or `process` only). */
  resourceLimits?: IsolationLimits;
}

export type InstanceState =
  | 'planned' // known, not yet started
  | 'waiting' // a mandatory dependency has no active provider
  | 'starting'
  | 'active'
  | 'stopping'
  | 'stopped' // stopped on purpose
  | 'backoff' // crashed, restart scheduled
  | 'failed'; // crashed too often, given up on

/** A teardown step; registered ones run in reverse order of registration. */
export type Teardown = () => void | Promise<void>;

/**
 * What a `dynamic` dependency of cardinality 1 / 0..1 is under ctx.deps: a stable handle whose
 * methods reach the provider's current instance (a call while none is active waits, bounded, then
 * fails with CHS_ERR_DEP_UNAVAILABLE: call through `await`).
 */
export type Dynamic<T> = T & {
  /** The provider's service now, or undefined while none is active. */
  readonly $current: T | undefined;
  readonly $available: boolean;
  /** Resolves with the service once a provider is active (rejects after `ms`). */
  $ready(ms?: number): Promise<T>;
};

/** A `dynamic` dependency of cardinality 0..n / 1..n: the current providers' services. */
export interface DynamicAll<T> {
  readonly $all: T[];
}

/**
 * What start(ctx) receives. `Config` is the instance config's shape; `Deps` the shape of
 * ctx.deps, keyed by each requirement's `as` (e.g. `{ greeter: Greeter }`), so dependencies are
 * typed without casts.
 */
export interface ModuleContext<Config = Record<string, unknown>, Deps = Record<string, any>> {
  /** Instance id: `name`, `name#instance`, or `name@version` for a second version. */
  readonly id: string;
  readonly name: string;
  readonly version: string;
  /** Validated config: defaults merged with the node's config for this instance. */
  readonly config: Readonly<Config>;
  /** Structured logger bound to this instance. */
  readonly log: Logger;
  /** Resolved dependencies, keyed by `as` (default: service name). Dynamic ones are stable handles;
   *  `0..n`/`1..n` ones are arrays. */
  readonly deps: Readonly<Deps>;
  /** Aborted when this instance begins to stop (or its start times out). */
  readonly signal: AbortSignal;
  /** Registers a teardown step; steps run in reverse order when the instance stops. */
  onStop(fn: Teardown): void;
  /** Registers a resource with a close()/destroy()/kill() method to release on stop; returns it. */
  own<T extends object>(resource: T): T;
  /**
   * Hands `value` to this module's next version under `key` when this instance is replaced by a
   * reload; on a final stop (or if the next version does not take it) `dispose` runs instead.
   */
  handOver<T>(key: string, value: T, dispose: (value: T) => void | Promise<void>): T;
  /** Takes what the previous version handed over under `key` (once), or undefined. */
  takeOver<T>(key: string): T | undefined;
  /** Called when a dynamic dependency's provider becomes available again / goes away. */
  onBind<K extends keyof Deps & string>(as: K, fn: (service: Deps[K]) => void): void;
  onUnbind(as: keyof Deps & string, fn: () => void): void;
  /** Publishes `tree` (an fs/tree node) at `path` of the node's file tree until this instance stops. */
  mount(path: string, tree: unknown): void;
  /** The node's control surface (styx-root serves it over 9P). */
  readonly host: HostControl;
  /** A directory of this instance's own (created before start; kept across restarts). */
  readonly stateDir: string;
  /** Metrics of this instance in the node's registry (served at the dashboard's /metrics); removed when this incarnation stops. */
  readonly metrics: ModuleMetrics;
}

/** What a module may pass to ctx.metrics: prom-client's configuration without `registers` (the host's registry is implied). */
export type MetricConfig<C> = Omit<C, 'registers' | 'aggregator' | 'enableExemplars'>;

/**
 * ctx.metrics: prom-client metrics registered in the node's own registry. Each sample gets the
 * label `module` = the instance id (`hello`, `styx-provider#home`), so the module must not name a
 * label `module`. Instances (and versions) registering the same name share one family: they must
 * agree on its type and label names (else CHS_ERR_METRIC_CONFLICT). Everything an incarnation
 * registered is removed when it stops, so the next version registers the same names afresh.
 */
export interface ModuleMetrics {
  counter<L extends string = string>(config: MetricConfig<CounterConfiguration<L>>): Counter<L>;
  gauge<L extends string = string>(config: MetricConfig<GaugeConfiguration<L>>): Gauge<L>;
  histogram<L extends string = string>(config: MetricConfig<HistogramConfiguration<L>>): Histogram<L>;
}

/** What a module's `health(ctx)` may return: a boolean, or `{ ok, ...detail }` (or throw). */
export type HealthReport = boolean | ({ ok: boolean } & Record<string, unknown>);

/** The latest health of an instance (HostControl.health, InstanceStatus.health, /modules/M/health). */
export interface HealthResult {
  id: string;
  ok: boolean;
  at: string;
  ms: number;
  detail?: unknown;
  error?: string;
}

/** What the host lets modules see and steer: status, lifecycle, config, logs, mounts. */
export interface HostControl {
  readonly node: string;
  readonly role: string;
  /** The node's ed25519 identity (CHS_ERR_IDENTITY if it could not be loaded). */
  readonly identity: Identity;
  status(): NodeStatus;
  reload(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  start(id: string): Promise<void>;
  test(id: string): Promise<TestResult>;
  /** The effective config and the node's override for an instance. */
  config(id: string): { effective: Record<string, unknown>; override: Record<string, unknown> };
  setConfig(id: string, override: Record<string, unknown>): Promise<Revision>;
  revisions(id: string): Promise<Revision[]>;
  revert(id: string, rev: number): Promise<Revision>;
  /** Pins (or unpins) a config revision so retention never drops it; returns the pinned revision numbers. */
  pinRevision(id: string, rev: number, pinned: boolean): Promise<number[]>;
  /** Adds an instance (`name`, `name#instance`, `name@range#instance`) to the running node, or starts a disabled one; returns the ids added. */
  enable(entry: string, config?: Record<string, unknown>, from?: string): Promise<string[]>;
  /** Installs a module into the node's store (`cheshire install`'s SPEC forms); returns where it landed. */
  install(spec: string): Promise<{ name: string; version: string; dir: string; integrity: string }>;
  /** Removes installed versions (`name` or `name@version`) from the store; refused while an instance runs one. */
  uninstall(spec: string): Promise<Array<{ name: string; version: string }>>;
  /** Makes an instance run from its own folder (`enable M#beta --from DIR`) the code of `M`, then removes it. */
  promote(id: string): Promise<HistoryEntry>;
  /** Stops an instance and keeps it stopped across restarts (its config kept). */
  disable(id: string): Promise<void>;
  /** The versions of an instance's module that became active (or were refused), oldest first. */
  history(id: string): Promise<HistoryEntry[]>;
  /** Makes history revision `rev` (default: the previous active version) active again, as a reload. */
  rollback(id: string, rev?: number): Promise<HistoryEntry>;
  /**
   * Recent log records of an instance (or `host`), oldest first, from its in-memory tail (the last
   * 500 or so, loaded from its log file at start, so earlier runs' records are there too).
   * Synchronous; `readLogs` reads the files for more.
   */
  logs(id: string, query?: LogQuery): LogRecord[];
  /**
   * Records of an instance from its log files (all rotated files), oldest first, filtered by
   * `query` (at most 100,000). Holds exactly the records logged before the call: a caller that
   * subscribes with onLog just before calling misses and repeats nothing.
   */
  readLogs(id: string, query?: LogQuery): Promise<LogRecord[]>;
  /** Calls `fn` with every new log record of the node; returns the unsubscribe. */
  onLog(fn: (r: LogRecord) => void): () => void;
  mounts(): Mount[];
  onMounts(fn: () => void): () => void;
  /** The folder an instance's module was loaded from (its descriptor dir); styx-root exports it read-only at /modules/M/source. */
  sourceDir(id: string): string;
  /** Asks the node to stop as a whole (`cheshire stop`): the process that runs it closes the host (every instance, in reverse order) and exits. Returns at once. */
  shutdown(reason: string): void;
  /** Calls `fn` whenever the node's status may have changed (state, reload, config, mounts); returns the unsubscribe. Callers coalesce. */
  onStatus(fn: () => void): () => void;
  /** The node's reload timeline, oldest first (the most recent ones; see core/timeline.ts), or one instance's. */
  reloads(id?: string): ReloadEvent[];
  /** Calls `fn` for every new timeline entry; returns the unsubscribe. */
  onReload(fn: (e: ReloadEvent) => void): () => void;
  /** An instance's config schema and defaults, from its module's descriptor. */
  schema(id: string): { schema: Record<string, unknown>; defaults: Record<string, unknown> };
  /** Checks `override` as setConfig would, without applying anything: [] when valid, else the messages (each naming the key and what was expected). */
  validateConfig(id: string, override: Record<string, unknown>): string[];
  /** The latest health of every instance (or of one), node order; see core/health. Never runs a check itself. */
  health(id?: string): HealthResult[];
  /** The node's metrics as Prometheus text (core/metrics). */
  metrics(): Promise<{ contentType: string; text: string }>;
}

/** What set off a reload or a restart of an instance (the reload timeline). */
export type ReloadTrigger = 'save' | 'ctl' | 'config' | 'install' | 'rollback' | 'promote' | 'crash' | 'dependency';

/** One entry of the node's reload timeline (HostControl.reloads). */
export interface ReloadEvent {
  /** 1, 2, 3... for the life of the host process. */
  seq: number;
  /** Instance id. */
  id: string;
  module: string;
  /** ISO 8601 time the reload finished (or was refused). */
  at: string;
  trigger: ReloadTrigger;
  /** `hot`: a new version of the code was swapped in (state handed over); `restart`: the same code started again (config change, crash, a static provider's reload). */
  kind: 'hot' | 'restart';
  /** From the trigger (the save seen, the command received) to the outcome, ms. */
  ms: number;
  /** `active`: the new incarnation runs; `refused`: it never started (build, type check, tests) and the old one kept serving; `failed`: it started and failed (the old one restored, or the instance crashed). */
  outcome: 'active' | 'refused' | 'failed';
  /** Version (and bundle hash) of the code the entry is about. */
  version: string;
  hash: string | null;
  /** Why it was refused / failed: the code, message, source-mapped stack and `file:line:col` where known. */
  error: ErrorInfo | null;
}

/** What a module's entry exports. */
export interface ModuleExports {
  start(ctx: ModuleContext<any, any>): unknown | Promise<unknown>;
  /** Optional, cheap: called every `health.intervalMs` while the instance is active (core/health). */
  health?(ctx: ModuleContext<any, any>): HealthReport | Promise<HealthReport>;
}

/** Data the host reports (ctx.host, the 9P tree, the CLI). */

export interface ErrorInfo {
  code: string;
  message: string;
  stack: string;
  /** ISO 8601 time it happened. */
  at: string;
  /** `file:line:col` in the module's own source where it was thrown (source-mapped), when known. */
  where?: string | null;
  /** In an instance's status: whether it still applies (false once the instance started, or a new version became active, after it). */
  current?: boolean;
}

export interface InstanceStatus {
  id: string;
  module: string;
  version: string;
  /** The module folder its code comes from. */
  dir: string;
  hash: string | null;
  state: InstanceState;
  /** Kept stopped by `cheshire disable` until enabled again. */
  disabled: boolean;
  waitingFor: string[];
  restarts: number;
  reloads: number;
  uptimeMs: number | null;
  lastError: ErrorInfo | null;
  provides: string[];
  requires: Array<Requirement & { boundTo: string[] }>;
  config: Record<string, unknown>;
  /** Stalls of the event loop the watchdog blamed on this instance (core/watchdog). */
  stalls?: number;
  lastStall?: StallInfo | null;
  /** The latest health (core/health): checked when the module exports health(ctx), else whether it is active. */
  health?: HealthResult | null;
}

/** One stall of the main event loop, as the watchdog saw it. */
export interface StallInfo {
  /** How long the loop did not tick (ms). */
  ms: number;
  /** ISO 8601 time the stall ended (or the process was ended, for an incident). */
  at: string;
  /** Instance id the running code belonged to, or null (host code, unknown). */
  module: string | null;
  /** `file:line:col` of the code running during the stall (source-mapped), or null. */
  where: string | null;
}

/** What the watchdog reports on the node (core/watchdog). */
export interface WatchdogStatus {
  enabled: boolean;
  blockedMs: number;
  killAfterMs: number;
  /** Stalls over blockedMs since the host started. */
  stalls: number;
  lastStall: StallInfo | null;
  /** The stall that ended the previous process (read from <stateDir>/watchdog-last.json). */
  lastIncident: (StallInfo & { pid: number }) | null;
  /** Event-loop delay percentiles since start (perf_hooks.monitorEventLoopDelay), ms. */
  loopDelayMs: { p50: number; p90: number; p99: number; max: number };
  /** The whole node's memory (not attributable to a module in-process), MB. */
  memory: { heapUsedMb: number; heapTotalMb: number; rssMb: number };
  /** What the last inspector sample cost the worker, ms (the main thread was paused part of it). */
  lastSampleMs: number | null;
}

export interface NodeStatus {
  node: string;
  role: string;
  pid: number;
  /** ISO 8601 time the host process started its node. */
  startedAt: string;
  /** Versions of the host (package.json) and of Node.js. */
  versions: { cheshire: string; node: string };
  /** The node's public key (hex), once loaded. */
  publicKey: string | null;
  failsafe: ErrorInfo | null;
  configError: ErrorInfo | null;
  instances: InstanceStatus[];
  watchdog?: WatchdogStatus;
}

export type RevisionSource = 'start' | 'api' | 'file' | 'revert';

export interface Revision {
  rev: number;
  /** ISO 8601 time of recording. */
  at: string;
  source: RevisionSource;
  note?: string;
  /** Kept by every prune (`cheshire config pin M REV`). */
  pinned?: boolean;
  config: Record<string, unknown>;
}

/** Which log records to read: since a time (epoch ms), from a level (pino's numbers), the newest `limit`. */
export interface LogQuery {
  since?: number;
  level?: number;
  limit?: number;
}

export interface LogRecord {
  time: number;
  level: number;
  /** Instance id, or `host`. */
  module: string;
  msg: string;
  err?: { type?: string; message?: string; stack?: string; code?: string };
  [key: string]: unknown;
}

export interface Mount {
  /** Normalised absolute path: `/dht`, `/export/home`. */
  path: string;
  /** Instance id that owns it. */
  owner: string;
  /** The subtree (an fs/tree node); opaque to the core. */
  tree: unknown;
  /** Increases with every (re)mount, so servers can tell a replaced subtree from the old one. */
  generation: number;
}

export interface Identity {
  /** Raw 32-byte ed25519 public key, hex. */
  readonly publicKey: string;
  sign(data: Uint8Array): Buffer;
  /** The node's TLS certificate (self-signed, bound to this key) and key, for node-to-node links (base/tls). */
  tls(): Promise<{ key: string; cert: string; publicKey: string }>;
}

export interface TestResult {
  ok: boolean;
  files: string[];
  output: string;
}
