// ctx.host: the node's control surface as modules see it (styx-root serves it over 9P), a thin
// view of the host that keeps modules off its internals. It names what it needs of the host as an
// interface, so this file does not import the host (and the host is the only one importing it).
import { chsError } from './errors.ts';
import type { ConfigApplier } from './config/apply.ts';
import type { LogHub } from './log.ts';
import type { MountTable } from './mounts.ts';
import type { ReloadTimeline } from './timeline.ts';
import type { Descriptor, HealthResult, HistoryEntry, Identity, HostControl, NodeStatus, TestResult } from './types.ts';

/** What hostControl needs of the host. */
export interface ControlledHost {
  readonly timeline: ReloadTimeline;
  on(event: 'status', fn: () => void): unknown;
  off(event: 'status', fn: () => void): unknown;
  readonly config: { node: string } | null;
  readonly role: { name: string } | null;
  readonly identity: Identity | null;
  readonly logging: { hub: LogHub };
  readonly mounts: MountTable;
  readonly configs: ConfigApplier;
  readonly instances: ReadonlyMap<string, { readonly desc: Pick<Descriptor, 'dir' | 'configSchema' | 'configDefaults'> }>;
  status(): NodeStatus;
  requestShutdown(reason: string): void;
  reload(id: string): Promise<void>;
  stopInstance(id: string): Promise<void>;
  startInstance(id: string): Promise<void>;
  testInstance(id: string): Promise<TestResult>;
  versions(id: string): Promise<HistoryEntry[]>;
  enable(entry: string, override?: Record<string, unknown>, from?: string): Promise<string[]>;
  promote(id: string): Promise<HistoryEntry>;
  install(spec: string): Promise<{ name: string; version: string; dir: string; integrity: string }>;
  uninstall(spec: string): Promise<Array<{ name: string; version: string }>>;
  disable(id: string): Promise<void>;
  rollback(id: string, rev?: number): Promise<HistoryEntry>;
  health(id?: string): HealthResult[];
  metrics(): Promise<{ contentType: string; text: string }>;
}

export function hostControl(host: ControlledHost): HostControl {
  const hub = () => host.logging.hub;
  return {
    get node() { return host.config?.node ?? 'cheshire'; },
    get role() { return host.role?.name ?? '?'; },
    get identity() {
      if (!host.identity) throw chsError('CHS_ERR_IDENTITY', 'the node identity is not loaded (see the start-up error)');
      return host.identity;
    },
    status: () => host.status(),
    reload: (id) => host.reload(id),
    stop: (id) => host.stopInstance(id),
    start: (id) => host.startInstance(id),
    test: (id) => host.testInstance(id),
    config: (id) => host.configs.current(id),
    setConfig: (id, override) => host.configs.set(id, override),
    revisions: (id) => host.configs.list(id),
    revert: (id, rev) => host.configs.revert(id, rev),
    pinRevision: (id, rev, pinned) => host.configs.pin(id, rev, pinned),
    history: (id) => host.versions(id),
    enable: (entry, config, from) => host.enable(entry, config, from),
    promote: (id) => host.promote(id),
    install: (spec) => host.install(spec),
    uninstall: (spec) => host.uninstall(spec),
    disable: (id) => host.disable(id),
    rollback: (id, rev) => host.rollback(id, rev),
    logs: (id, query) => hub().recent(id, query),
    readLogs: (id, query) => hub().read(id, query),
    onLog: (fn) => {
      hub().on('record', fn);
      return () => hub().off('record', fn);
    },
    sourceDir: (id) => known(host, id).desc.dir,
    shutdown: (reason) => host.requestShutdown(reason),
    onStatus: (fn) => {
      host.on('status', fn);
      return () => host.off('status', fn);
    },
    reloads: (id) => host.timeline.list(id),
    onReload: (fn) => host.timeline.subscribe(fn),
    schema: (id) => {
      const desc = known(host, id).desc;
      return { schema: desc.configSchema, defaults: desc.configDefaults };
    },
    validateConfig: (id, override) => host.configs.check(id, override),
    health: (id) => host.health(id),
    metrics: () => host.metrics(),
    mounts: () => host.mounts.list(),
    onMounts: (fn) => {
      host.mounts.on('change', fn);
      return () => host.mounts.off('change', fn);
    },
  };
}

function known(host: ControlledHost, id: string) {
  const inst = host.instances.get(id);
  if (!inst) throw chsError('CHS_ERR_INSTANCE_NOT_FOUND', `no instance "${id}" on this node`);
  return inst;
}
