// What crosses the boundary between the host and an isolated module's worker: the message
// shapes of the one MessagePort they share, errors as plain data (a structured clone drops an
// error's `code`), and the rule for values: plain data only. Structured clone would turn a class
// instance (a stream, a socket) into a hollow object without a word, so such values are refused
// up front with CHS_ERR_ISOLATION_CLONE naming the service and member. Imports nothing of the
// host but the error registry: it is bundled into the worker too.
import type { MessagePort } from 'node:worker_threads';
import { chsError } from '../errors.ts';

/** An error as data: enough to rebuild one with its code, message and (source-mapped) stack. */
export interface ErrorData {
  name: string;
  message: string;
  stack: string;
  code?: string;
  /** A 9P error's Linux errno (a tree's NineError, ./tree-proxy.ts). */
  errno?: number;
}

/** A node of a tree an isolated module mounted (ctx.mount), as the host's proxy of it sees it (./tree-proxy.ts). */
export interface NodeInfo {
  /** The isolate's number for the node (the same node keeps it). */
  id: number;
  name: string;
  qid: { type: number; version: number; path: bigint };
  removed: boolean;
  /** The optional Node methods it has (a missing one: the session answers EOPNOTSUPP). */
  ops: string[];
}

/** An open handle of such a node. */
export interface HandleInfo {
  h: number;
  ignoresSignal: boolean;
  ops: string[];
}

/** One dependency as the worker sees it (ctx.deps[as]). */
export interface DepInfo {
  as: string;
  service: string;
  policy: 'static' | 'dynamic';
  /** `one`: a single service (cardinality 1 / 0..1); `list`: an array (static 0..n / 1..n); `all`: dynamic 0..n / 1..n. */
  shape: 'one' | 'list' | 'all';
  /** For `one`: whether a provider is bound now; for `list`: how many. */
  available: boolean;
  count: number;
  /** For `all`: the bound providers' services now, by the host's number for each (calls name it: CallMsg.sid). */
  ids?: number[];
}

/** A module's bundle as an isolate evaluates it (at its boot, or ahead of it in a spare: `load`). */
export interface Bundle {
  name: string;
  dir: string;
  filename: string;
  /** V8's name for the bundle, `<entry>#<hash>`, as in-process (stack traces map through it). */
  vmName: string;
  code: string;
  map: string;
  /** Specifiers the bundle requires, loaded natively in the worker. */
  externals: string[];
  /** Where the isolate runs: a worker thread or a child process (messages and errors say which). */
  kind: 'worker' | 'process';
  /** The URL the host's loader gives `cheshire/sdk`: the isolate serves it from its own SDK. */
  sdkUrl: string;
}

/** What the worker is started with (workerData). */
export interface Boot extends Bundle {
  id: string;
  version: string;
  config: Record<string, unknown>;
  stateDir: string;
  stopMs: number;
  deps: DepInfo[];
  /** What the previous incarnation handed over (key -> value), for ctx.takeOver. */
  previous: Record<string, unknown>;
  node: string;
  role: string;
  /** Deadline of one call across the boundary (ms; 0: none). */
  callMs: number;
  /**
   * serveHttp's listeners the host already holds for the instance (handed over from the previous
   * incarnation), by key: where it listens. A serveHttp asking for the same address learns it from
   * here instead of waiting for the host's answer.
   */
  listening?: Record<string, { host: string; address: string; port: number; family: string }>;
}

/** A call across the boundary: into the host (a dependency, ctx.host) or into the worker (its service). */
export interface CallMsg {
  t: 'call';
  seq: number;
  /**
   * `listen`: serveHttp asks the host for the instance's listener (args: key, host, port);
   * `mount`: ctx.mount (args: path, the root's NodeInfo); `tree`: the host asks a node or handle
   * of a mounted tree (member: the operation; args[0]: the node's or handle's number).
   */
  target: 'dep' | 'ready' | 'host' | 'service' | 'listen' | 'metric' | 'health' | 'mount' | 'tree';
  as?: string;
  index?: number;
  /** A dynamic 0..n dependency's provider, by the host's number for its service (DepInfo.ids). */
  sid?: number;
  member: string;
  args: unknown[];
  /** `service.member`, for errors. */
  label: string;
}

export interface ReplyMsg {
  t: 'reply';
  seq: number;
  ok: boolean;
  value?: unknown;
  error?: ErrorData;
}

/** The caller gave up on call `seq` (a 9P request was flushed): the far side aborts its signal. */
export interface CancelMsg {
  t: 'cancel';
  seq: number;
}

/** Worker -> host notices. */
export type WorkerMsg =
  | CallMsg
  | ReplyMsg
  | CancelMsg
  | { t: 'log'; level: string; obj: Record<string, unknown>; msg: string }
  | { t: 'handOver'; key: string; value: unknown }
  | { t: 'started'; kind: 'none' | 'object'; methods: string[] }
  /** A spare evaluated the bundle it was handed (`load`): fine, or the error that threw. */
  | { t: 'loaded'; vmName: string; error?: ErrorData }
  | { t: 'startFailed'; error: ErrorData }
  | { t: 'crash'; error: ErrorData }
  | { t: 'stopped'; handed: Record<string, unknown>; errors: ErrorData[]; overran: string | null }
  | { t: 'pong'; seq: number }
  | MetricMsg;

/** ctx.metrics in an isolate: a metric's registration, then each update, applied to the host's registry. */
export interface MetricMsg {
  t: 'metric';
  kind: 'counter' | 'gauge' | 'histogram';
  op: 'register' | 'inc' | 'dec' | 'set' | 'observe' | 'reset';
  name: string;
  config?: Record<string, unknown>;
  labels?: Record<string, string | number>;
  value?: number;
}

/** Host -> worker notices. */
export type HostMsg =
  | CallMsg
  | ReplyMsg
  | CancelMsg
  /** The host dropped its proxies of these mounted nodes, each after seeing it `n` times (./tree-proxy.ts). */
  | { t: 'forget'; ids: Array<[id: number, n: number]> }
  | { t: 'boot'; boot: Boot }
  /** To an idle spare: evaluate this bundle now; the incarnation that boots with its vmName starts from it. */
  | { t: 'load'; bundle: Bundle }
  | { t: 'stop'; handover: boolean; budgetMs: number }
  | { t: 'bind' | 'unbind'; as: string }
  /** A dynamic 0..n dependency's bound providers changed: their services' numbers now. */
  | { t: 'providers'; as: string; ids: number[] }
  | { t: 'ping'; seq: number }
  /**
   * An accepted connection of the instance's listener `key`: in a child process the socket comes
   * with the message (its handle); in a worker thread `port` relays its bytes (core/isolation/relay.ts).
   */
  | { t: 'conn'; key: string; port?: MessagePort; remote: { address?: string; port?: number; family?: string } };

export function errorData(err: unknown): ErrorData {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const errno = (err as { errno?: unknown }).errno;
    return {
      name: err.name, message: err.message, stack: String(err.stack ?? `${err.name}: ${err.message}`),
      ...(typeof code === 'string' ? { code } : {}),
      ...(err.name === 'NineError' && typeof errno === 'number' ? { errno } : {}),
    };
  }
  return { name: 'Error', message: String(err), stack: `Error: ${String(err)}` };
}

export function reviveError(d: ErrorData): Error {
  const e = new Error(d.message);
  e.name = d.name;
  e.stack = d.stack;
  if (d.code !== undefined) (e as { code?: string }).code = d.code;
  if (d.errno !== undefined) (e as { errno?: number }).errno = d.errno;
  return e;
}

const PLAIN = new Set<unknown>([Object.prototype, Array.prototype, null, Date.prototype, RegExp.prototype, Map.prototype, Set.prototype, ArrayBuffer.prototype, Error.prototype]);

/**
 * Why `value` cannot cross as plain data (`a function at args[0].cb`), or null when it can:
 * primitives (not symbols), plain objects and arrays, Date, RegExp, Map, Set, ArrayBuffer and
 * typed arrays (Buffers arrive as Uint8Array), errors.
 */
export function uncloneable(value: unknown, path: string, seen = new Set<object>()): string | null {
  const t = typeof value;
  if (t === 'function') return `a function at ${path}`;
  if (t === 'symbol') return `a symbol at ${path}`;
  if (value === null || t !== 'object') return null;
  const o = value as object;
  if (seen.has(o)) return null;
  seen.add(o);
  if (ArrayBuffer.isView(o)) return null;
  const proto = Object.getPrototypeOf(o) as unknown;
  if (!PLAIN.has(proto) && !(o instanceof Error)) return `a ${(o as { constructor?: { name?: string } }).constructor?.name ?? 'class'} instance at ${path} (only plain data crosses)`;
  if (o instanceof Map) {
    for (const [k, v] of o) {
      const why = uncloneable(k, `${path}<key>`, seen) ?? uncloneable(v, `${path}.get(${String(k)})`, seen);
      if (why) return why;
    }
    return null;
  }
  if (o instanceof Set) {
    for (const v of o) {
      const why = uncloneable(v, `${path}<item>`, seen);
      if (why) return why;
    }
    return null;
  }
  for (const [k, v] of Object.entries(o)) {
    const why = uncloneable(v, Array.isArray(o) ? `${path}[${k}]` : `${path}.${k}`, seen);
    if (why) return why;
  }
  return null;
}

/** Throws CHS_ERR_ISOLATION_CLONE when `value` cannot cross for `label` (`greeter.greet`). */
export function assertCloneable(id: string, label: string, what: string, value: unknown): void {
  const why = uncloneable(value, what);
  if (why) throw chsError('CHS_ERR_ISOLATION_CLONE', `${id}: ${label}: ${why} cannot cross the isolation boundary`);
}
