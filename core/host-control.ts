// ctx.host: the node's control surface as modules see it (styx-root serves it over 9P), a thin
// view of Host that keeps modules off its internals.
import { chsError } from './errors.ts';
import type { Host } from './host.ts';
import type { HostControl } from './types.ts';

export function hostControl(host: Host): HostControl {
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
    config: (id) => host.instanceConfig(id),
    setConfig: (id, override) => host.setConfig(id, override),
    revisions: (id) => host.listRevisions(id),
    revert: (id, rev) => host.revert(id, rev),
    logs: (id) => hub().recent(id),
    onLog: (fn) => {
      hub().on('record', fn);
      return () => hub().off('record', fn);
    },
    mounts: () => host.mounts.list(),
    onMounts: (fn) => {
      host.mounts.on('change', fn);
      return () => host.mounts.off('change', fn);
    },
  };
}
