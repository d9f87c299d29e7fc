// The host's side of an isolated (`"isolation": "worker"`) module. Its "exports" are made here
// instead of by evaluating the bundle in the host: start(ctx) runs in the instance's incarnation
// like any start (same deadline, same teardown, same supervision), but what it does is start a
// worker_threads Worker with the descriptor's resourceLimits, hand it the bundle, bridge ctx
// (deps, ctx.host, log, handOver, bind notices) over their MessagePort, and return a proxy of the
// worker's service whose methods are calls into the worker. The worker is always terminated at
// the end of the incarnation, so what its thread held (sockets, timers) dies with it.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { chsError } from '../errors.ts';
import type { LoadedCode } from '../loader.ts';
import { runScope, type RunScope } from '../timers.ts';
import type { Descriptor, ModuleContext, ModuleExports } from '../types.ts';
import { errorData, reviveError, type Boot, type CallMsg, type DepInfo, type HostMsg, type WorkerMsg } from './protocol.ts';
import { Rpc } from './rpc.ts';
import { workerCode } from './worker-code.ts';

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

export function isolatedExports(desc: Descriptor, loaded: LoadedCode): ModuleExports {
  return { start: (ctx) => startIsolated(desc, loaded, ctx) };
}

function depInfo(desc: Descriptor, deps: Record<string, unknown>): DepInfo[] {
  return desc.requires.map((r): DepInfo => {
    const v = deps[r.as];
    const many = r.cardinality === '0..n' || r.cardinality === '1..n';
    if (r.policy === 'dynamic') {
      return { as: r.as, service: r.service, policy: 'dynamic', shape: many ? 'all' : 'one', available: many ? false : Boolean((v as { $available?: boolean }).$available), count: 0 };
    }
    if (many) return { as: r.as, service: r.service, policy: 'static', shape: 'list', available: true, count: (v as unknown[]).length };
    return { as: r.as, service: r.service, policy: 'static', shape: 'one', available: v !== undefined, count: 0 };
  });
}

async function startIsolated(desc: Descriptor, loaded: LoadedCode, ctx: ModuleContext): Promise<unknown> {
  const scope = runScope.getStore() as IsolatedScope | undefined;
  if (!scope || typeof scope.previousHanded !== 'function') throw new Error(`${ctx.id}: an isolated start must run inside its incarnation`);
  const previous: Record<string, unknown> = {};
  const boxes = new Map<string, IsolatedValue>();
  for (const [key, value] of scope.previousHanded()) {
    // Only what an isolated version handed over is plain data; anything else (an in-process
    // version's server) stays with the host and is disposed as usual.
    if (value instanceof IsolatedValue) previous[key] = ctx.takeOver<IsolatedValue>(key)!.value;
  }
  const filename = join(desc.dir, desc.entry);
  const boot: Boot = {
    id: ctx.id,
    name: ctx.name,
    version: ctx.version,
    dir: desc.dir,
    filename,
    vmName: `${filename}#${loaded.hash}`,
    code: loaded.code,
    map: loaded.map,
    externals: [...loaded.externals.keys()],
    config: structuredClone(ctx.config) as Record<string, unknown>,
    stateDir: ctx.stateDir,
    stopMs: desc.timeouts.stopMs,
    deps: depInfo(desc, ctx.deps as Record<string, unknown>),
    previous,
    node: ctx.host.node,
    role: ctx.host.role,
  };
  const worker = new Worker(await workerCode(), { eval: true, workerData: boot, resourceLimits: desc.resourceLimits ?? {}, execArgv: [] });
  let started = false;
  let exited = false;
  let stopping = false;
  const post = (m: HostMsg) => { if (!exited) worker.postMessage(m); };
  const rpc = new Rpc(ctx.id, post, (c: CallMsg) => serve(ctx, c));
  let settleStart: { resolve: (m: Extract<WorkerMsg, { t: 'started' }>) => void; reject: (e: Error) => void } | null = null;
  const startedMsg = new Promise<Extract<WorkerMsg, { t: 'started' }>>((resolve, reject) => { settleStart = { resolve, reject }; });
  let onStopped: ((m: Extract<WorkerMsg, { t: 'stopped' }>) => void) | null = null;
  const exitPromise = new Promise<void>((resolve) => worker.once('exit', () => resolve()));

  // Before start succeeds a failure fails the start; after, it is a crash of this incarnation.
  let failed = false;
  const fail = (err: Error) => {
    if (failed) return;
    failed = true;
    if (!started) settleStart?.reject(err);
    else scope.crash(err);
  };
  worker.on('message', (m: WorkerMsg) => {
    if (rpc.receive(m)) return;
    switch (m.t) {
      case 'log': {
        const level = LEVELS.has(m.level) ? m.level : 'info';
        const obj = m.obj.err && typeof m.obj.err === 'object' ? { ...m.obj, err: reviveError(m.obj.err as ReturnType<typeof errorData>) } : m.obj;
        (ctx.log as unknown as Record<string, (o: object, s: string) => void>)[level]!(obj, m.msg);
        break;
      }
      case 'handOver': {
        const box = new IsolatedValue(m.value);
        boxes.set(m.key, box);
        // The worker runs its own dispose at a final stop; the host's copy needs none.
        ctx.handOver(m.key, box, () => {});
        break;
      }
      case 'started': settleStart?.resolve(m); break;
      case 'startFailed': settleStart?.reject(reviveError(m.error)); break;
      case 'crash': fail(reviveError(m.error)); break;
      case 'stopped': onStopped?.(m); break;
    }
  });
  worker.on('error', (err: Error & { code?: string }) => {
    if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      fail(chsError('CHS_ERR_ISOLATION_LIMIT', `${ctx.id}: the worker exceeded its resourceLimits ${JSON.stringify(desc.resourceLimits ?? {})} and was ended: ${err.message}`, err));
    } else fail(err);
  });
  worker.once('exit', (code) => {
    exited = true;
    rpc.close(chsError('CHS_ERR_DEP_UNAVAILABLE', `${ctx.id}: its worker has ended`));
    if (!stopping) fail(chsError('CHS_ERR_ISOLATION_WORKER', `${ctx.id}: the worker exited on its own (code ${code})`));
  });

  // Registered first, so it runs last: after the handed values were kept (or dropped).
  ctx.onStop(async function terminateWorker() {
    stopping = true;
    if (exited) return;
    if (started) {
      const stopped = new Promise<Extract<WorkerMsg, { t: 'stopped' }> | null>((resolve) => {
        onStopped = resolve;
        void exitPromise.then(() => resolve(null));
      });
      // The worker gets most of the budget for its own steps (what overruns there it reports);
      // a worker that does not answer by 90 % (a synchronous loop) is terminated all the same.
      const stopMs = desc.timeouts.stopMs;
      post({ t: 'stop', handover: scope.handingOver, budgetMs: Math.max(1, Math.floor(stopMs * 0.8)) });
      let timer: NodeJS.Timeout | undefined;
      const m = await Promise.race([stopped, new Promise<'late'>((r) => { timer = setTimeout(() => r('late'), Math.max(1, Math.floor(stopMs * 0.9))); })]);
      clearTimeout(timer);
      if (m === 'late') {
        await worker.terminate();
        throw chsError('CHS_ERR_STOP_TIMEOUT', `${ctx.id}: the worker did not finish its teardown within ${stopMs} ms and was terminated`);
      }
      if (m) {
        for (const [key, value] of Object.entries(m.handed)) {
          const box = boxes.get(key);
          if (box) box.value = value;
        }
        for (const e of m.errors) ctx.log.warn({ err: reviveError(e) }, `teardown step in the worker threw: ${e.message}`);
        if (m.overran) ctx.log.warn(`${ctx.id}: teardown step ${m.overran} in the worker did not settle in time; the worker is terminated`);
      }
    }
    await worker.terminate();
  });
  // A start that never settles (a synchronous loop in the worker): the deadline aborts ctx.signal.
  ctx.signal.addEventListener('abort', () => {
    if (!started) {
      stopping = true;
      void worker.terminate();
      settleStart?.reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(String(ctx.signal.reason)));
    }
  }, { once: true });

  for (const r of desc.requires) {
    if (r.policy !== 'dynamic' || r.cardinality === '0..n' || r.cardinality === '1..n') continue;
    ctx.onBind(r.as, () => post({ t: 'bind', as: r.as }));
    ctx.onUnbind(r.as, () => post({ t: 'unbind', as: r.as }));
  }

  const ready = await startedMsg;
  started = true;
  if (ready.kind === 'none') return undefined;
  const svc: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const member of ready.methods) svc[member] = (...args) => rpc.call('service', `${ctx.name}.${member}`, member, args);
  return Object.freeze(svc);
}

/** Answers a call from the worker: a dependency's method, $ready, or a read-only ctx.host member. */
async function serve(ctx: ModuleContext, c: CallMsg): Promise<unknown> {
  if (c.target === 'host') {
    const fn = (ctx.host as unknown as Record<string, unknown>)[c.member];
    if (typeof fn !== 'function') throw chsError('CHS_ERR_ISOLATION_UNSUPPORTED', `${ctx.id}: ctx.host.${c.member} is not available in an isolated module`);
    return (fn as (...a: unknown[]) => unknown).apply(ctx.host, c.args);
  }
  const dep = (ctx.deps as Record<string, unknown>)[c.as ?? ''];
  if (c.target === 'ready') {
    await (dep as { $ready(ms?: number): Promise<unknown> }).$ready(c.args[0] as number | undefined);
    return true;
  }
  if (c.target !== 'dep') throw new Error(`${ctx.id}: unknown call target ${c.target}`);
  const svc = (c.index === undefined ? dep : (dep as unknown[])[c.index]) as Record<string, unknown> | undefined;
  if (svc === undefined || svc === null) throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${ctx.id}: ${c.label}: no provider is bound`);
  const fn = svc[c.member];
  if (typeof fn !== 'function') throw new TypeError(`${ctx.id}: ${c.label} is not a function`);
  return await (fn as (...a: unknown[]) => unknown).apply(svc, c.args);
}
