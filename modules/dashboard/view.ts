// The page's views of the node, built from what ctx.host reports (status, the reload timeline,
// log records): plain JSON, trimmed to what the page shows, with times as epochs so an update
// does not differ from the last one merely because a clock moved.
import type { ErrorInfo, HealthResult, HostControl, InstanceStatus, LogRecord, NodeStatus } from 'cheshire/sdk';
import type { ErrorView, HealthView, InstanceView, LogView, NodeView, ReloadView } from './protocol.ts';

export type ReloadEvent = ReturnType<HostControl['reloads']>[number];

function errorView(e: ErrorInfo | null | undefined): ErrorView | null {
  return e ? { code: e.code, message: e.message, stack: e.stack, at: e.at, where: e.where ?? null } : null;
}

const CYCLE = /dependency cycle: ([^\n]+)/;

/** `a -> b -> a` out of a CHS_ERR_DEP_CYCLE message, as ['a', 'b', 'a']. */
export function cycleOf(e: { code: string; message: string } | null | undefined): string[] | null {
  if (!e || e.code !== 'CHS_ERR_DEP_CYCLE') return null;
  const m = CYCLE.exec(e.message);
  if (!m) return null;
  const ids = m[1]!.split('->').map((s) => s.trim()).filter(Boolean);
  return ids.length >= 2 ? ids : null;
}

export function nodeView(s: NodeStatus, reloads: readonly ReloadEvent[]): NodeView {
  // A cycle a reload would have made is refused and the old graph keeps running: show the last one
  // refused, unless a later reload of the same instance went through.
  let cycle = cycleOf(s.failsafe);
  if (!cycle) {
    for (let i = reloads.length - 1; i >= 0 && !cycle; i--) {
      const e = reloads[i]!;
      if (e.outcome === 'active' && reloads.slice(0, i).some((r) => r.id === e.id && cycleOf(r.error))) break;
      cycle = cycleOf(e.error);
    }
  }
  const w = s.watchdog;
  return {
    node: s.node,
    role: s.role,
    pid: s.pid,
    startedAt: s.startedAt,
    versions: s.versions,
    publicKey: s.publicKey,
    failsafe: errorView(s.failsafe),
    configError: errorView(s.configError),
    cycle,
    memory: w ? { heapUsedMb: w.memory.heapUsedMb, rssMb: w.memory.rssMb } : null,
    loopDelayP99Ms: w ? w.loopDelayMs.p99 : null,
    stalls: w?.stalls ?? 0,
  };
}

function healthView(h: HealthResult | null | undefined): HealthView | null {
  if (!h) return null;
  return { ok: h.ok, at: h.at, ms: h.ms, ...(h.detail !== undefined ? { detail: h.detail } : {}), ...(h.error !== undefined ? { error: h.error } : {}) };
}

export function instanceView(i: InstanceStatus, now: number): InstanceView {
  return {
    id: i.id,
    module: i.module,
    version: i.version,
    hash: i.hash,
    dir: i.dir,
    state: i.state,
    disabled: i.disabled,
    waitingFor: i.waitingFor,
    restarts: i.restarts,
    reloads: i.reloads,
    since: i.uptimeMs === null ? null : now - i.uptimeMs,
    lastError: errorView(i.lastError),
    provides: i.provides,
    requires: i.requires.map((r) => ({ service: r.service, range: r.range, policy: r.policy, cardinality: r.cardinality, as: r.as, boundTo: r.boundTo })),
    health: healthView(i.health),
    stalls: i.stalls ?? 0,
  };
}

/**
 * The instance's view as compared between updates: without what moves on its own (`since` by a
 * millisecond between two reads, the time and duration of each periodic health check), so an
 * update goes out when something the page shows changed, not every time a check ran.
 */
export function instanceKey(v: InstanceView): string {
  const health = v.health ? { ...v.health, at: '', ms: 0 } : null;
  return JSON.stringify({ ...v, since: v.since === null ? null : Math.round(v.since / 1000), health });
}

export function reloadView(e: ReloadEvent): ReloadView {
  return {
    seq: e.seq, id: e.id, module: e.module, at: e.at, trigger: e.trigger, kind: e.kind, ms: e.ms,
    outcome: e.outcome, version: e.version, hash: e.hash, error: errorView(e.error),
  };
}

const MSG_MAX = 4000;

export function logView(r: LogRecord): LogView {
  const msg = r.msg.length > MSG_MAX ? `${r.msg.slice(0, MSG_MAX)}…` : r.msg;
  return { time: r.time, level: r.level, module: r.module, msg, ...(r.err ? { err: r.err } : {}) };
}
