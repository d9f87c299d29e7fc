// ctx.host: the node's control surface as modules see it (styx-root serves it over 9P), a thin
// view of the host that keeps modules off its internals. It names what it needs of the host as an
// interface, so this file does not import the host (and the host is the only one importing it).
import { chsError } from './errors.ts';
import type { ConfigApplier } from './config/apply.ts';
import type { LogHub } from './log.ts';
import type { MountTable } from './mounts.ts';
import type { HistoryEntry, Identity, HostControl, NodeStatus, TestResult } from './types.ts';

/** What hostControl needs of the host. */
export interface ControlledHost {
  readonly config: { node: string } | null;
  readonly role: { name: string } | null;
  readonly identity: Identity | null;
  readonly logging: { hub: LogHub };
  readonly mounts: MountTable;
  readonly configs: ConfigApplier;
  readonly instances: ReadonlyMap<string, { readonly desc: { readonly dir: string } }>;
  status(): NodeStatus;
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
    history: (id) => host.versions(id),
    enable: (entry, config, from) => host.enable(entry, config, from),
    promote: (id) => host.promote(id),
    install: (spec) => host.install(spec),
    uninstall: (spec) => host.uninstall(spec),
    disable: (id) => host.disable(id),
    rollback: (id, rev) => host.rollback(id, rev),
    logs: (id) => hub().recent(id),
    onLog: (fn) => {
      hub().on('record', fn);
      return () => hub().off('record', fn);
    },
    sourceDir: (id) => host.instances.get(id)?.desc.dir ?? (() => { throw chsError('CHS_ERR_INSTANCE_NOT_FOUND', `no instance "${id}" on this node`); })(),
    mounts: () => host.mounts.list(),
    onMounts: (fn) => {
      host.mounts.on('change', fn);
      return () => host.mounts.off('change', fn);
    },
  };
}
