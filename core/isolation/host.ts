// The host's side of an isolated (`"isolation": "worker" | "process"`) module. Its "exports" are
// made here instead of by evaluating the bundle in the host: start(ctx) runs in the instance's
// incarnation like any start (same deadline, same teardown, same supervision), but what it does
// is start an isolate (a worker thread or a child process, ./spawn.ts) with the descriptor's
// resourceLimits, hand it the bundle, bridge ctx (deps, ctx.host, log, metrics, handOver, bind
// notices, serveHttp's listener) over their channel, ping it (a stall after start ends it), and
// return a proxy of the isolate's service whose methods are calls into it. The isolate is always
// ended at the end of the incarnation, so what it held (sockets, timers, its process) dies with it.
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { chsError } from '../errors.ts';
import type { LoadedCode } from '../loader/loaded-code.ts';
import { runScope, type RunScope } from '../timers.ts';
import type { Descriptor, ModuleContext, ModuleExports } from '../types.ts';
import { errorData, reviveError, type Boot, type Bundle, type CallMsg, type MetricMsg, type NodeInfo, type WorkerMsg } from './protocol.ts';
import { TreeProxy } from './tree-proxy.ts';
import { depInfo, providerIds, serveCall } from './host-deps.ts';
import { endLater, settled } from './ending.ts';
import { Rpc } from './rpc.ts';
import { ListenerSlot, SharedListener } from './listener.ts';
import { spawnIsolate, type Isolate, type IsolateEvents } from './spawn.ts';
import { hold, preload, sparesOff } from './spares.ts';

/** A value an isolated incarnation handed over: a plain-data copy, refreshed when it stops cleanly. */
export class IsolatedValue {
  constructor(public value: unknown) {}
}

/** What the bridge needs of the incarnation beyond ctx (core/run.ts's Run). */
interface IsolatedScope extends RunScope {
  /** Set when the incarnation begins to stop: whether its handed values go to a next one. */
  readonly handingOver: boolean;
  /** What the previous incarnation handed over, not yet taken (key -> value). */
  previousHanded(): ReadonlyMap<string, unknown>;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
/** The host's handOver key of serveHttp's listener `key`. */
const LISTEN = 'isolation:listener:';
export const DEFAULT_STALL_MS = 5_000;
export const DEFAULT_CALL_MS = 30_000;
const SDK_URL = new URL('../sdk/index.ts', import.meta.url).href;

/** How to ask a started isolate for its health, by the ctx its start got (what health(ctx) receives). */
const healthOf = new WeakMap<ModuleContext, () => Promise<unknown>>();

/** What an isolate evaluates of a module: its bundle, named for stack traces as in-process. */
function bundleOf(desc: Descriptor, loaded: LoadedCode): Bundle {
  const filename = join(desc.dir, desc.entry);
  return {
    name: desc.name,
    dir: desc.dir,
    filename,
    vmName: `${filename}#${loaded.hash}`,
    code: loaded.code,
    map: loaded.map,
    externals: [...loaded.externals.keys()],
    kind: desc.isolation === 'process' ? 'process' : 'worker',
    sdkUrl: SDK_URL,
  };
}

/**
 * A reload's new code, for an instance that runs isolated under `desc`: the idle spare of its
 * shape evaluates it now, while the current incarnation still serves, so the start that follows
 * the stop only runs start(ctx) (./spares.ts preload). Resolves once evaluated; rejects, before
 * anything was stopped, when the module's top level threw (its error, CHS_ERR_MODULE_LOAD...) or
 * did not finish within the start deadline (CHS_ERR_START_TIMEOUT), as an in-process reload is
 * refused when evaluating the new code fails; either way that spare is ended and a clean one
 * started. Null when no spare took it (then the start evaluates the code, as before).
 */
export function preloadIsolated(desc: Descriptor, loaded: LoadedCode): Promise<void> | null {
  if (desc.isolation !== 'worker' && desc.isolation !== 'process') return null;
  if (sparesOff.has(desc)) return null;
  const p = preload(desc.isolation, desc.resourceLimits ?? {}, bundleOf(desc, loaded));
  if (!p) return null;
  const ms = desc.timeouts.startMs;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), ms); });
  return Promise.race([p.result, late]).then(async (r) => {
    clearTimeout(timer);
    if (r === 'late') {
      await p.end();
      throw chsError('CHS_ERR_START_TIMEOUT', `${desc.name}: evaluating the new code in a ${desc.isolation} did not finish within ${ms} ms (startMs); that ${desc.isolation} was ended`);
    }
    if (r) {
      await p.end();
      throw r;
    }
  });
}

export function isolatedExports(desc: Descriptor, loaded: LoadedCode): ModuleExports {
  return {
    start: (ctx) => startIsolated(desc, loaded, ctx),
    // The module's own health(ctx), run in the isolate; without one, the isolate's answer (it is alive).
    health: (ctx) => {
      const ask = healthOf.get(ctx);
      if (!ask) throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${ctx.id}: its isolate is not running`);
      return ask() as ReturnType<NonNullable<ModuleExports['health']>>;
    },
  };
}

async function startIsolated(desc: Descriptor, loaded: LoadedCode, ctx: ModuleContext): Promise<unknown> {
  const scope = runScope.getStore() as IsolatedScope | undefined;
  if (!scope || typeof scope.previousHanded !== 'function') throw new Error(`${ctx.id}: an isolated start must run inside its incarnation`);
  const kind = desc.isolation === 'process' ? 'process' : 'worker';
  const stallMs = desc.timeouts.stallMs ?? DEFAULT_STALL_MS;
  const previous: Record<string, unknown> = {};
  const boxes = new Map<string, IsolatedValue>();
  // serveHttp's listeners by key: those handed over (handed on at once) and those opened here.
  const slots = new Map<string, ListenerSlot>();
  const claimed = new Set<string>();
  for (const [key, value] of scope.previousHanded()) {
    // Only what an isolated version handed over is plain data; anything else (an in-process
    // version's server) stays with the host and is disposed as usual.
    if (value instanceof IsolatedValue) previous[key] = ctx.takeOver<IsolatedValue>(key)!.value;
    else if (value instanceof ListenerSlot && key.startsWith(LISTEN)) {
      const slot = ctx.takeOver<ListenerSlot>(key)!;
      if (!slot.listener) continue;
      ctx.handOver(key, slot, (x) => x.close());
      slots.set(key.slice(LISTEN.length), slot);
    }
  }
  const boot: Boot = {
    ...bundleOf(desc, loaded),
    id: ctx.id,
    version: ctx.version,
    config: structuredClone(ctx.config) as Record<string, unknown>,
    stateDir: ctx.stateDir,
    stopMs: desc.timeouts.stopMs,
    deps: depInfo(desc, ctx.deps as Record<string, unknown>),
    previous,
    node: ctx.host.node,
    role: ctx.host.role,
    callMs: desc.timeouts.callMs ?? DEFAULT_CALL_MS,
    listening: Object.fromEntries([...slots].flatMap(([key, slot]) => {
      const l = slot.listener;
      if (!l) return [];
      const a = l.address();
      return [[key, { host: l.host, address: a.address, port: a.port, family: a.family }]];
    })),
  };
  let started = false;
  let exited = false;
  let stopping = false;
  let iso: Isolate | null = null;
  const pending: WorkerMsg[] = [];
  const rpc = new Rpc(ctx.id, (m) => iso?.post(m), (c: CallMsg) => serve(c));
  rpc.deadlineMs = boot.callMs;
  let settleStart: { resolve: (m: Extract<WorkerMsg, { t: 'started' }>) => void; reject: (e: Error) => void } | null = null;
  const startedMsg = new Promise<Extract<WorkerMsg, { t: 'started' }>>((resolve, reject) => { settleStart = { resolve, reject }; });
  let onStopped: ((m: Extract<WorkerMsg, { t: 'stopped' }>) => void) | null = null;

  // Before start succeeds a failure fails the start; after, it is a crash of this incarnation.
  let failed = false;
  const fail = (err: Error) => {
    // Connections arriving from now on wait in the host for the next incarnation.
    detachAll();
    if (failed) return;
    failed = true;
    if (!started) settleStart?.reject(err);
    else scope.crash(err);
  };

  // serveHttp's listeners this incarnation attached to (detached first thing at its stop).
  const sinks = new Map<SharedListener, (s: Socket) => void>();
  const detachAll = () => { for (const [l, sink] of sinks) l.detach(sink); };
  async function listen(key: string, host: string, port: number): Promise<unknown> {
    if (claimed.has(key)) throw new Error(`${ctx.id}: serveHttp listener "${key}" asked for twice`);
    claimed.add(key);
    let slot = slots.get(key);
    if (!slot) {
      slot = new ListenerSlot(null);
      slots.set(key, slot);
      ctx.handOver(`${LISTEN}${key}`, slot, (x) => x.close());
    }
    if (slot.listener && !slot.listener.matches(host, port)) await slot.close(); // the address changed: let go of the old socket
    slot.listener ??= await SharedListener.open(host, port);
    const l = slot.listener;
    const sink = (s: Socket) => iso!.pass(key, s);
    sinks.set(l, sink);
    if (!stopping) l.attach(sink);
    const a = l.address();
    return { address: a.address, port: a.port, family: a.family };
  }

  /** Answers a call from the isolate: a dependency's method, $ready, ctx.host, serveHttp's listener, ctx.mount. */
  async function serve(c: CallMsg): Promise<unknown> {
    if (c.target === 'listen') return listen(String(c.args[0]), String(c.args[1]), Number(c.args[2]));
    if (c.target === 'mount') {
      trees ??= new TreeProxy(rpc, (m) => iso?.post(m), ctx.id);
      // The host's mount: in the mount table until this incarnation stops (its own teardown step).
      ctx.mount(String(c.args[0]), trees.node(c.args[1] as NodeInfo));
      return true;
    }
    return serveCall(ctx, c);
  }
  /** The proxies of the trees this incarnation mounted (made at its first ctx.mount). */
  let trees: TreeProxy | null = null;

  const metrics = new Map<string, Record<string, (...a: unknown[]) => unknown>>();
  function metric(m: MetricMsg): void {
    try {
      if (m.op === 'register') {
        const make = (ctx.metrics as unknown as Record<string, (c: unknown) => Record<string, (...a: unknown[]) => unknown>>)[m.kind]!;
        metrics.set(m.name, make.call(ctx.metrics, m.config));
        return;
      }
      const target = metrics.get(m.name);
      if (!target) return;
      if (m.op === 'reset') target.reset!();
      else if (m.labels) target[m.op]!(m.labels, ...(m.value === undefined ? [] : [m.value]));
      else target[m.op]!(...(m.value === undefined ? [] : [m.value]));
    } catch (err) {
      ctx.log.warn({ err }, `ctx.metrics ${m.kind} ${m.name} ${m.op} refused: ${(err as Error).message}`);
    }
  }

  const onMessage = (m: WorkerMsg) => {
    if (rpc.receive(m)) return;
    switch (m.t) {
      case 'pong': lastPong = Date.now(); break;
      case 'log': {
        const level = LEVELS.has(m.level) ? m.level : 'info';
        const obj = m.obj.err && typeof m.obj.err === 'object' ? { ...m.obj, err: reviveError(m.obj.err as ReturnType<typeof errorData>) } : m.obj;
        (ctx.log as unknown as Record<string, (o: object, s: string) => void>)[level]!(obj, m.msg);
        break;
      }
      case 'metric': metric(m); break;
      case 'handOver': {
        const box = new IsolatedValue(m.value);
        boxes.set(m.key, box);
        // The isolate runs its own dispose at a final stop; the host's copy needs none.
        ctx.handOver(m.key, box, () => {});
        break;
      }
      case 'started': settleStart?.resolve(m); break;
      case 'startFailed': settleStart?.reject(reviveError(m.error)); break;
      case 'crash': fail(reviveError(m.error)); break;
      case 'stopped': onStopped?.(m); break;
    }
  };
  // The heartbeat: an isolate whose event loop does not answer within stallMs is stuck (a
  // synchronous loop after start): ended at once, a crash of this instance (supervision decides).
  let lastPong = Date.now();
  let seq = 0;
  let beat: NodeJS.Timeout | null = null;
  function stopHeartbeat() {
    if (beat) clearInterval(beat);
    beat = null;
  }
  const events: IsolateEvents = {
    message: (m) => (iso ? onMessage(m) : pending.push(m)),
    output: (stream, line) => {
      if (stream === 'stderr') ctx.log.warn({ stream }, line);
      else ctx.log.info({ stream }, line);
    },
    exit(how, limit) {
      exited = true;
      detachAll();
      stopHeartbeat();
      rpc.close(limit ?? chsError('CHS_ERR_DEP_UNAVAILABLE', `${ctx.id}: its ${kind} has ended`));
      if (limit) fail(limit);
      else if (!stopping) fail(chsError('CHS_ERR_ISOLATION_WORKER', `${ctx.id}: ${how} on its own`));
    },
  };
  // A warm spare of this shape when there is one (./spares.ts), else a new isolate.
  const limits = desc.resourceLimits ?? {};
  const lease = hold(ctx.id, kind, limits, ctx.log, !sparesOff.has(desc));
  try {
    const spare = await lease.take(events, boot.vmName);
    if (spare) (iso = spare).boot(boot);
    else iso = await spawnIsolate(boot, limits, events);
  } catch (err) {
    await lease.release(true);
    throw err;
  }
  for (const m of pending.splice(0)) onMessage(m);
  if (ctx.signal.aborted) {
    // The start's deadline passed while the isolate was being made.
    await iso.kill();
    await lease.release(true);
    throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(String(ctx.signal.reason));
  }

  function startHeartbeat() {
    if (stallMs <= 0) return;
    const period = Math.max(10, Math.min(1_000, Math.floor(stallMs / 4)));
    let lastTick = Date.now();
    lastPong = lastTick;
    beat = setInterval(() => {
      const now = Date.now();
      // The host's own loop was held up (another module's code, a GC pause): the answers that
      // came meanwhile are still queued behind this timer, so this tick cannot judge. Start over.
      if (now - lastTick > period + stallMs / 2) lastPong = now;
      lastTick = now;
      const silent = now - lastPong;
      if (silent > stallMs) {
        stopHeartbeat();
        const err = chsError('CHS_ERR_ISOLATION_STALL', `${ctx.id}: its ${kind} did not answer the host's heartbeat for ${silent} ms (stallMs ${stallMs}): its event loop is blocked; it was ended`);
        ctx.log.error({ blockedMs: silent }, err.message);
        rpc.close(err);
        fail(err);
        void iso!.kill();
        return;
      }
      iso!.post({ t: 'ping', seq: ++seq });
    }, period);
    beat.unref();
  }

  // Registered first, so it runs last: after the handed values were kept (or dropped).
  ctx.onStop(async function endIsolate() {
    try {
      await endIncarnation();
      // A final stop completes once every isolate of the instance has ended.
      if (!scope!.handingOver) await settled(ctx.id);
    } finally {
      await lease.release(scope!.handingOver);
    }
  });
  async function endIncarnation(): Promise<void> {
    stopping = true;
    stopHeartbeat();
    // New connections queue in the host from now on, for the next incarnation.
    detachAll();
    if (exited) return;
    if (started) {
      const stopped = new Promise<Extract<WorkerMsg, { t: 'stopped' }> | null>((resolve) => {
        onStopped = resolve;
        void iso!.ended.then(() => resolve(null));
      });
      // The isolate gets most of the budget for its own steps (what overruns there it reports);
      // one that does not answer by 90 % (a synchronous loop) is ended all the same.
      const stopMs = desc.timeouts.stopMs;
      iso!.post({ t: 'stop', handover: scope!.handingOver, budgetMs: Math.max(1, Math.floor(stopMs * 0.8)) });
      let timer: NodeJS.Timeout | undefined;
      const m = await Promise.race([stopped, new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), Math.max(1, Math.floor(stopMs * 0.9))); })]);
      clearTimeout(timer);
      if (m === 'late') {
        await iso!.kill();
        throw chsError('CHS_ERR_STOP_TIMEOUT', `${ctx.id}: the ${kind} did not finish its teardown within ${stopMs} ms and was ${kind === 'process' ? 'killed' : 'terminated'}`);
      }
      if (m && scope!.handingOver && !m.errors.length && !m.overran) {
        // Its teardown is done and a next incarnation is waiting: it is ended a moment after that
        // one's start (END_AFTER_HANDOVER_MS); a final stop ends it at once and waits for it.
        keep(m);
        endLater(ctx.id, iso!);
        return;
      }
      if (m) keep(m);
    }
    await iso!.kill();
  }
  /** What the isolate reported at its stop: the handed values' last state, its teardown's errors. */
  function keep(m: Extract<WorkerMsg, { t: 'stopped' }>): void {
    for (const [key, value] of Object.entries(m.handed)) {
      const box = boxes.get(key);
      if (box) box.value = value;
    }
    for (const e of m.errors) ctx.log.warn({ err: reviveError(e) }, `teardown step in the ${kind} threw: ${e.message}`);
    if (m.overran) ctx.log.warn(`${ctx.id}: teardown step ${m.overran} in the ${kind} did not settle in time; it is ended`);
  }
  // A start that never settles (a synchronous loop in the isolate): the deadline aborts ctx.signal.
  ctx.signal.addEventListener('abort', () => {
    if (!started) {
      stopping = true;
      void iso!.kill();
      settleStart?.reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(String(ctx.signal.reason)));
    }
  }, { once: true });

  for (const r of desc.requires) {
    if (r.policy !== 'dynamic') continue;
    if (r.cardinality === '0..n' || r.cardinality === '1..n') {
      const tell = () => iso!.post({ t: 'providers', as: r.as, ids: providerIds((ctx.deps as Record<string, unknown>)[r.as]) });
      ctx.onBind(r.as, tell);
      ctx.onUnbind(r.as, tell);
      continue;
    }
    ctx.onBind(r.as, () => iso!.post({ t: 'bind', as: r.as }));
    ctx.onUnbind(r.as, () => iso!.post({ t: 'unbind', as: r.as }));
  }

  const ready = await startedMsg;
  started = true;
  // Listeners a previous version had that this one did not ask for: let go of them.
  for (const [key, slot] of slots) if (!claimed.has(key)) await slot.close();
  startHeartbeat();
  lease.replenish();
  healthOf.set(ctx, () => rpc.call('health', `${ctx.name}.health`, 'health', []));
  if (ready.kind === 'none') return undefined;
  const svc: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const member of ready.methods) svc[member] = (...args) => rpc.call('service', `${ctx.name}.${member}`, member, args);
  return Object.freeze(svc);
}
