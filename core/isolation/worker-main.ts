// The entry of an isolated module's isolate: a worker thread (boot data in workerData, the
// channel its parent port) or a child process (boot data the first IPC message). Bundled once by
// ./worker-code.ts, so no tsx in the isolate. It evaluates the module bundle the host made,
// builds a ctx with the same contract, runs start(ctx), serves calls on the returned service,
// forwards log records, metrics, handOver values and crashes to the host, answers the host's
// heartbeat, and tears down in reverse order on `stop`. All of it is written against
// ./channel.ts: the same runtime whichever carries the messages.
import type { Duplex } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { chsError } from '../errors.ts';
import { forceRelease, releaseResource, runTeardown, trackConnections, type TeardownStep } from '../teardown.ts';
import type { ModuleContext, ModuleExports } from '../types.ts';
import { portChannel, processChannel, type RuntimeChannel } from './channel.ts';
import { assertCloneable, errorData, type Boot, type CallMsg, type DepInfo, type HostMsg } from './protocol.ts';
import { RelayedSocket } from './relay.ts';
import { Rpc } from './rpc.ts';
import { setRuntime, type Runtime } from './runtime.ts';
import { workerLogger } from './worker-log.ts';
import { loadBundle, loadSdk } from './worker-load.ts';
import { metricsProxy } from './worker-metrics.ts';
import { warmHttp } from './warm.ts';
import { isNode, TreeExport } from './tree-export.ts';

/** The bundle a spare was given to evaluate ahead of its boot (`load`), and what that gave. */
let preloaded: { vmName: string; exports: Promise<ModuleExports> } | null = null;

/**
 * A spare's messages until its boot: `load` evaluates the next version's bundle while the host's
 * current incarnation still serves (as an in-process reload evaluates before it stops the old
 * version); `boot` starts the incarnation.
 */
function spareMessages(ch: RuntimeChannel, on: (fn: (m: HostMsg) => void) => () => void): void {
  void loadSdk().then(() => warmHttp(ch.kind)).catch(() => {});
  const off = on((m) => {
    if (m.t === 'load') {
      const exports = loadBundle(m.bundle, m.bundle.name);
      preloaded = { vmName: m.bundle.vmName, exports };
      // The host hears how it went (a failure refuses the reload before the old version stops).
      exports.then(
        () => ch.post({ t: 'loaded', vmName: m.bundle.vmName }),
        (err: unknown) => ch.post({ t: 'loaded', vmName: m.bundle.vmName, error: errorData(err) }),
      );
    } else if (m.t === 'boot') {
      off();
      main(ch, m.boot);
    }
  });
}

if (parentPort && workerData) main(portChannel(parentPort), workerData as Boot);
else if (parentPort) {
  // A spare (./spares.ts): loaded and idle until the host hands it an incarnation's boot data.
  const port = parentPort;
  spareMessages(portChannel(port), (fn) => {
    port.on('message', fn);
    return () => port.off('message', fn);
  });
} else if (process.send) {
  // A child process: ends with its host (the IPC pipe closes when the host dies or lets go).
  process.on('disconnect', () => process.exit(0));
  // A spare waits for its boot data; one forked for an incarnation gets it at once.
  spareMessages(processChannel(process), (fn) => {
    process.on('message', fn);
    return () => process.off('message', fn);
  });
}

function main(ch: RuntimeChannel, boot: Boot): void {
  const unsupported = (member: string) =>
    chsError('CHS_ERR_ISOLATION_UNSUPPORTED', `${boot.id}: ${member} is not available in an isolated (${boot.kind}) module (docs/modules.md, "Isolation")`);


  let service: Record<string, unknown> | null = null;
  let started: { exports: ModuleExports; ctx: ModuleContext } | null = null;
  const trees = new TreeExport(boot.id);
  /** ctx.mount calls of the start, answered by the host before the start counts as done. */
  const mounting: Array<Promise<unknown>> = [];
  const rpc = new Rpc(boot.id, (m) => ch.post(m), (c: CallMsg, signal) => {
    if (c.target === 'tree') return trees.serve(c.member, c.args, signal);
    if (c.target === 'health') {
      if (!started) throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${boot.id}: not started`);
      return typeof started.exports.health === 'function' ? started.exports.health(started.ctx) : true;
    }
    if (c.target !== 'service' || !service) throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${boot.id}: no service to call ${c.label}`);
    const fn = service[c.member];
    if (typeof fn !== 'function') throw new TypeError(`${c.label} is not a function`);
    return (fn as (...a: unknown[]) => unknown).apply(service, c.args);
  });
  rpc.deadlineMs = boot.callMs;
  const rt: Runtime = { boot, channel: ch, rpc, listeners: new Map() };
  setRuntime(rt);

  // A throw or rejection nobody caught is a crash of this instance only: tell the host, then end.
  const crash = (err: unknown) => ch.exit(1, { t: 'crash', error: errorData(err) });
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  type Step = (TeardownStep & { kind: 'teardown' }) | { kind: 'handed'; key: string };
  const steps: Step[] = [];
  const handed = new Map<string, { value: unknown; dispose: (v: unknown) => void | Promise<void> }>();
  const previous = new Map(Object.entries(boot.previous));
  const controller = new AbortController();
  const listeners = new Map<string, Array<(s?: unknown) => void>>();
  const available = new Map<string, boolean>();

  /** Dynamic 0..n dependencies: the bound providers' service numbers, and a proxy per number. */
  const allIds = new Map<string, number[]>();
  const allProxies = new Map<string, Map<number, object>>();
  function setProviders(as: string, ids: number[]): void {
    allIds.set(as, ids);
    const proxies = allProxies.get(as);
    if (proxies) for (const sid of proxies.keys()) if (!ids.includes(sid)) proxies.delete(sid);
  }
  function allOf(d: DepInfo): object[] {
    let proxies = allProxies.get(d.as);
    if (!proxies) allProxies.set(d.as, (proxies = new Map()));
    const out: object[] = [];
    for (const sid of allIds.get(d.as) ?? []) {
      let p = proxies.get(sid);
      if (!p) proxies.set(sid, (p = depProxy(d, undefined, sid)));
      out.push(p);
    }
    return out;
  }

  function depProxy(d: DepInfo, index?: number, sid?: number): object {
    const call = (member: string) => (...args: unknown[]) => rpc.call('dep', `${d.service}.${member}`, member, args, { as: d.as, index, ...(sid !== undefined ? { sid } : {}) });
    const self: object = new Proxy(Object.create(null) as object, {
      get(_t, prop) {
        if (prop === 'then' || typeof prop === 'symbol') return undefined;
        if (d.policy === 'dynamic' && index === undefined && sid === undefined) {
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
      else {
        setProviders(d.as, d.ids ?? []);
        out[d.as] = Object.freeze({
          get $all(): object[] { return allOf(d); },
          $ready: (ms?: number) => rpc.call('ready', `${d.service}.$ready`, '$ready', [ms], { as: d.as }).then((ids) => {
            if (Array.isArray(ids)) setProviders(d.as, ids as number[]);
            return allOf(d);
          }),
        });
      }
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

  function context(): ModuleContext {
    return {
      id: boot.id,
      name: boot.name,
      version: boot.version,
      config: deepFreeze(boot.config),
      log: workerLogger((level, obj, msg) => ch.post({ t: 'log', level, obj, msg })),
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
        ch.post({ t: 'handOver', key, value });
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
      mount: (path, tree) => {
        if (!isNode(tree)) throw chsError('CHS_ERR_MOUNT_INVALID', `${boot.id}: ctx.mount("${path}"): the tree is not a file tree node (dir(), file(), ctl(), stream() of cheshire/sdk)`);
        // Mounted by the host (a proxy of this tree); a refusal fails the start, or after it is a crash.
        const done = rpc.call('mount', `ctx.mount("${path}")`, 'mount', [path, trees.info(tree)]);
        mounting.push(done);
        done.catch((err: unknown) => { if (started) crash(err); });
      },
      host: hostProxy() as ModuleContext['host'],
      metrics: metricsProxy((m) => ch.post(m), unsupported) as ModuleContext['metrics'],
    };
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
    ch.post({ t: 'stopped', handed: kept, errors: errors.map(errorData), overran });
  }

  ch.onMessage((m, handle) => {
    if (rpc.receive(m)) return;
    switch (m.t) {
      case 'ping': ch.post({ t: 'pong', seq: m.seq }); break;
      case 'forget': trees.forget(m.ids); break;
      case 'stop': void stop(m.handover, m.budgetMs); break;
      case 'conn': {
        const socket = (handle as Duplex | undefined) ?? (m.port ? new RelayedSocket(m.port, m.remote) : undefined);
        const to = rt.listeners.get(m.key);
        if (!socket) break;
        if (to) to(socket);
        else socket.destroy();
        break;
      }
      case 'providers': {
        // onBind hears of each provider that came (with its proxy), onUnbind of each that went.
        const was = allIds.get(m.as) ?? [];
        const d = boot.deps.find((x) => x.as === m.as);
        setProviders(m.as, m.ids);
        const now = d ? allOf(d) : [];
        for (const sid of was) if (!m.ids.includes(sid)) for (const fn of listeners.get(`unbind:${m.as}`) ?? []) fn(undefined);
        m.ids.forEach((sid, i) => { if (!was.includes(sid)) for (const fn of listeners.get(`bind:${m.as}`) ?? []) fn(now[i]); });
        break;
      }
      case 'bind':
      case 'unbind': {
        available.set(m.as, m.t === 'bind');
        const d = boot.deps.find((x) => x.as === m.as);
        for (const fn of listeners.get(`${m.t}:${m.as}`) ?? []) fn(m.t === 'bind' && d ? depProxy(d) : undefined);
        break;
      }
    }
  });

  void (async () => {
    let exports: ModuleExports;
    let result: unknown;
    const ctx = context();
    try {
      exports = await (preloaded?.vmName === boot.vmName ? preloaded.exports : loadBundle(boot, boot.id));
      result = await exports.start(ctx);
      await Promise.all(mounting);
    } catch (err) {
      ch.post({ t: 'startFailed', error: errorData(err) });
      return;
    }
    started = { exports, ctx };
    service = result !== null && typeof result === 'object' ? (result as Record<string, unknown>) : null;
    ch.post({ t: 'started', kind: service ? 'object' : 'none', methods: service ? methodsOf(service) : [] });
  })();
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
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
