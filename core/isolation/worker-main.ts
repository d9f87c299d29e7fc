// The entry of an isolated module's worker thread (bundled once by ./worker-code.ts and run with
// `eval`, so no tsx in the worker). It evaluates the module bundle the host made, builds a ctx
// with the same contract, runs start(ctx), serves calls on the returned service, forwards log
// records, handOver values and crashes to the host, and tears down in reverse order on `stop`.
import { dirname } from 'node:path';
import vm from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { chsError } from '../errors.ts';
import { installStackMapping, registerBundle } from '../loader/stacks.ts';
import { forceRelease, releaseResource, runTeardown, trackConnections, type TeardownStep } from '../teardown.ts';
import type { ModuleContext, ModuleExports } from '../types.ts';
import { assertCloneable, errorData, type Boot, type CallMsg, type DepInfo, type HostMsg, type WorkerMsg } from './protocol.ts';
import { Rpc } from './rpc.ts';
import { workerLogger } from './worker-log.ts';
import { asEsModule } from '../loader/es-module.ts';

const boot = workerData as Boot;
const port = parentPort!;
const post = (m: WorkerMsg) => port.postMessage(m);
const unsupported = (member: string) =>
  chsError('CHS_ERR_ISOLATION_UNSUPPORTED', `${boot.id}: ${member} is not available in an isolated (worker) module (docs/modules.md, "Isolation")`);

installStackMapping();
const bundleMap = registerBundle(boot.vmName, dirname(boot.filename), boot.map);

let service: Record<string, unknown> | null = null;
const rpc = new Rpc(boot.id, post, (c: CallMsg) => {
  if (c.target !== 'service' || !service) throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${boot.id}: no service to call ${c.label}`);
  const fn = service[c.member];
  if (typeof fn !== 'function') throw new TypeError(`${c.label} is not a function`);
  return (fn as (...a: unknown[]) => unknown).apply(service, c.args);
});

// A throw or rejection nobody caught is a crash of this instance only: tell the host, then end.
const crash = (err: unknown) => {
  post({ t: 'crash', error: errorData(err) });
  process.exit(1);
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);

type Step = (TeardownStep & { kind: 'teardown' }) | { kind: 'handed'; key: string };
const steps: Step[] = [];
const handed = new Map<string, { value: unknown; dispose: (v: unknown) => void | Promise<void> }>();
const previous = new Map(Object.entries(boot.previous));
const controller = new AbortController();
const listeners = new Map<string, Array<(s?: unknown) => void>>();
const available = new Map<string, boolean>();

function depProxy(d: DepInfo, index?: number): object {
  const call = (member: string) => (...args: unknown[]) => rpc.call('dep', `${d.service}.${member}`, member, args, { as: d.as, index });
  const self: object = new Proxy(Object.create(null) as object, {
    get(_t, prop) {
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      if (d.policy === 'dynamic' && index === undefined) {
        if (prop === '$available') return available.get(d.as) ?? false;
        if (prop === '$current') return available.get(d.as) ? self : undefined;
        if (prop === '$ready') return (ms?: number) => rpc.call('ready', `${d.service}.$ready`, '$ready', [ms], { as: d.as }).then(() => self);
      }
      return call(prop);
    },
  });
  return self;
}

function deps(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of boot.deps) {
    available.set(d.as, d.available);
    if (d.shape === 'one') out[d.as] = d.policy === 'static' && !d.available ? undefined : depProxy(d);
    else if (d.shape === 'list') out[d.as] = Array.from({ length: d.count }, (_, i) => depProxy(d, i));
    else out[d.as] = Object.freeze({
      get $all(): never { throw unsupported(`ctx.deps.${d.as}.$all`); },
      $ready: (ms?: number) => rpc.call('ready', `${d.service}.$ready`, '$ready', [ms], { as: d.as }).then(() => { throw unsupported(`ctx.deps.${d.as}.$all`); }),
    });
  }
  return out;
}

const READ_ONLY_HOST = ['status', 'config', 'revisions', 'logs', 'readLogs', 'sourceDir', 'reloads', 'schema', 'validateConfig', 'health', 'history'];

function hostProxy(): object {
  return new Proxy(Object.create(null) as object, {
    get(_t, prop) {
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      if (prop === 'node') return boot.node;
      if (prop === 'role') return boot.role;
      if (READ_ONLY_HOST.includes(prop)) return (...args: unknown[]) => rpc.call('host', `ctx.host.${prop}`, prop, args);
      return () => { throw unsupported(`ctx.host.${prop}`); };
    },
  });
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

function context(): ModuleContext {
  const noMetric = (kind: string) => () => { throw unsupported(`ctx.metrics.${kind}`); };
  return {
    id: boot.id,
    name: boot.name,
    version: boot.version,
    config: deepFreeze(boot.config),
    log: workerLogger((level, obj, msg) => post({ t: 'log', level, obj, msg })),
    deps: deps(),
    signal: controller.signal,
    stateDir: boot.stateDir,
    onStop: (fn) => {
      const n = steps.filter((x) => x.kind === 'teardown' && x.label.startsWith('onStop')).length + 1;
      steps.push({ kind: 'teardown', label: `onStop #${n}${fn.name ? ` (${fn.name})` : ''}`, run: fn });
    },
    own: (resource) => {
      trackConnections(resource);
      steps.push({ kind: 'teardown', label: `own(${resource.constructor?.name ?? 'resource'})`, run: () => releaseResource(resource), force: () => forceRelease(resource) });
      return resource;
    },
    handOver: (key, value, dispose) => {
      if (handed.has(key)) throw new Error(`${boot.id}: handOver("${key}") called twice`);
      assertCloneable(boot.id, `ctx.handOver("${key}")`, 'value', value);
      post({ t: 'handOver', key, value });
      handed.set(key, { value, dispose: dispose as (v: unknown) => void });
      steps.push({ kind: 'handed', key });
      return value;
    },
    takeOver: <T>(key: string) => {
      if (!previous.has(key)) return undefined;
      const v = previous.get(key);
      previous.delete(key);
      return v as T;
    },
    onBind: (as, fn) => { listeners.set(`bind:${as}`, [...(listeners.get(`bind:${as}`) ?? []), fn as (s?: unknown) => void]); },
    onUnbind: (as, fn) => { listeners.set(`unbind:${as}`, [...(listeners.get(`unbind:${as}`) ?? []), fn]); },
    mount: () => { throw unsupported('ctx.mount'); },
    host: hostProxy() as ModuleContext['host'],
    metrics: { counter: noMetric('counter'), gauge: noMetric('gauge'), histogram: noMetric('histogram') } as unknown as ModuleContext['metrics'],
  };
}


async function load(): Promise<ModuleExports> {
  const externals = new Map<string, unknown>();
  for (const spec of boot.externals) {
    // The SDK (and any other .ts the host resolves) is TypeScript run by the host's tsx, which a
    // worker does not have: type imports are erased and fine, value imports are not available yet.
    if (/\.[cm]?ts$/.test(spec)) throw unsupported(`import of "${spec}" (a value import of the host's TypeScript, e.g. cheshire/sdk)`);
    try {
      externals.set(spec, await import(spec));
    } catch (err) {
      throw chsError('CHS_ERR_MODULE_LOAD', `${boot.name}: cannot import "${spec}" in the worker: ${(err as Error).message}`, err);
    }
  }
  const fn = vm.compileFunction(boot.code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: boot.vmName }) as (...a: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  const require = (spec: string): unknown => {
    if (!externals.has(spec)) throw new Error(`${boot.name}: require("${spec}") was not seen at bundle time`);
    return asEsModule(externals.get(spec));
  };
  try {
    fn(module.exports, require, module, boot.filename, boot.dir);
  } catch (err) {
    throw chsError('CHS_ERR_MODULE_LOAD', `${boot.name}: evaluating ${boot.filename} threw: ${(err as Error).message}`, err);
  }
  const exp = module.exports as Partial<ModuleExports>;
  if (typeof exp.start !== 'function') throw chsError('CHS_ERR_MODULE_NO_START', `${boot.name}: ${boot.filename} does not export a start(ctx) function`);
  return exp as ModuleExports;
}

function methodsOf(o: object): string[] {
  const names = new Set<string>();
  for (let p: object | null = o; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const k of Object.getOwnPropertyNames(p)) {
      if (k === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(p, k);
      if (d && typeof d.value === 'function') names.add(k);
    }
  }
  return [...names];
}

async function stop(handover: boolean, budgetMs: number): Promise<void> {
  controller.abort(new Error(`${boot.id} is stopping`));
  const kept: Record<string, unknown> = {};
  const list = [...steps].reverse().map((step): TeardownStep => {
    if (step.kind === 'teardown') return step;
    const h = handed.get(step.key)!;
    if (handover) return { label: `handOver("${step.key}")`, run: () => { assertCloneable(boot.id, `ctx.handOver("${step.key}")`, 'value', h.value); kept[step.key] = h.value; } };
    return { label: `handOver("${step.key}") dispose`, run: () => h.dispose(h.value), force: () => forceRelease(h.value) };
  });
  const { errors, overran } = await runTeardown(list, budgetMs);
  post({ t: 'stopped', handed: kept, errors: errors.map(errorData), overran });
}

port.on('message', (m: HostMsg) => {
  if (rpc.receive(m)) return;
  if (m.t === 'stop') void stop(m.handover, m.budgetMs);
  else if (m.t === 'bind' || m.t === 'unbind') {
    available.set(m.as, m.t === 'bind');
    const d = boot.deps.find((x) => x.as === m.as);
    for (const fn of listeners.get(`${m.t}:${m.as}`) ?? []) fn(m.t === 'bind' && d ? depProxy(d) : undefined);
  }
});

(async () => {
  let exports: ModuleExports;
  let result: unknown;
  try {
    exports = await load();
    result = await exports.start(context());
  } catch (err) {
    post({ t: 'startFailed', error: errorData(err) });
    return;
  }
  service = result !== null && typeof result === 'object' ? (result as Record<string, unknown>) : null;
  post({ t: 'started', kind: service ? 'object' : 'none', methods: service ? methodsOf(service) : [] });
  void bundleMap;
})();
