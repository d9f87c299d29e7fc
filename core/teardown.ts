// Releasing what an incarnation owns, in reverse order of registration, under one deadline that
// never strands a step: each step is awaited only for what is left of the budget; once one
// overruns, every later step still runs, and what can be forced is: servers stop listening and
// their connections are destroyed, sockets are destroyed, child processes get SIGKILL. So a
// teardown that hangs leaves no port, fd or process behind (it used to leave all later steps
// undone: 40 hung stops left 40 listening sockets).
import net from 'node:net';

export interface TeardownStep {
  /** Names the step in the timeout error and the log: `onStop #2 (flush)`, `own(Server)`. */
  label: string;
  run(): void | Promise<void>;
  /** Releases at once what run() would release gracefully (called after run() on a forced step). */
  force?(): void;
}

export interface TeardownResult {
  errors: unknown[];
  /** The step that did not settle within the budget (the ones after it were forced), or null. */
  overran: string | null;
}

/** How long a step gets once the budget is spent: enough for sync work and a tick of I/O. */
const GRACE_MS = 50;

export async function runTeardown(steps: readonly TeardownStep[], budgetMs: number): Promise<TeardownResult> {
  const deadline = Date.now() + budgetMs;
  const errors: unknown[] = [];
  let overran: string | null = null;
  for (const step of steps) {
    const forced = overran !== null;
    const wait = forced ? GRACE_MS : Math.max(0, deadline - Date.now());
    let settled: boolean;
    try {
      settled = await within(step.run(), wait);
    } catch (err) {
      errors.push(err);
      settled = true;
    }
    if (!settled && !forced) overran = step.label;
    if (!settled || forced) {
      try {
        step.force?.();
      } catch (err) {
        errors.push(err);
      }
    }
  }
  return { errors, overran };
}

/** Whether `value` (a promise or not) settled within `ms`; a rejection is thrown. */
async function within(value: void | Promise<void>, ms: number): Promise<boolean> {
  if (!value || typeof (value as Promise<void>).then !== 'function') return true;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      (value as Promise<void>).then(() => true),
      new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Open connections of servers handed to ctx.own (a net.Server cannot list them itself). */
const connections = new WeakMap<net.Server, Set<net.Socket>>();

/** Starts tracking a server's connections, so a forced release can destroy them. */
export function trackConnections(resource: object): void {
  if (!(resource instanceof net.Server) || connections.has(resource)) return;
  const open = new Set<net.Socket>();
  connections.set(resource, open);
  resource.on('connection', (s: net.Socket) => {
    open.add(s);
    s.once('close', () => open.delete(s));
  });
}

/** Gracefully releases a resource: close() (awaited), else destroy() / kill() / abort(). */
export async function releaseResource(r: object): Promise<void> {
  const x = r as Record<string, unknown>;
  if (typeof x.close === 'function') {
    await new Promise<void>((resolve) => {
      const fn = x.close as (cb?: (err?: Error) => void) => unknown;
      let settled = false;
      const done = () => { if (!settled) { settled = true; resolve(); } };
      const ret = fn.length >= 1 ? fn.call(r, () => done()) : fn.call(r);
      if (ret && typeof (ret as Promise<void>).then === 'function') (ret as Promise<void>).then(done, done);
      else if (fn.length < 1) done();
      (x.closeAllConnections as (() => void) | undefined)?.call(r);
    });
  } else if (typeof x.destroy === 'function') (x.destroy as () => void).call(r);
  else if (typeof x.kill === 'function') (x.kill as () => void).call(r);
  else if (typeof x.abort === 'function') (x.abort as () => void).call(r);
  else throw new Error('own(): resource has no close/destroy/kill/abort method');
}

/** Releases a resource at once: no waiting for peers, no grace for children. Never throws. */
export function forceRelease(r: unknown): void {
  if (r === null || typeof r !== 'object') return;
  const x = r as Record<string, unknown>;
  const call = (name: string, ...args: unknown[]) => {
    try {
      if (typeof x[name] === 'function') (x[name] as (...a: unknown[]) => unknown).apply(r, args);
    } catch { /* already closed, already dead */ }
  };
  if (r instanceof net.Server) {
    // close() stops listening at once (the port is free); the connections it would wait for go now.
    call('close');
    call('closeAllConnections');
    for (const s of connections.get(r) ?? []) s.destroy();
    return;
  }
  if (typeof x.kill === 'function') return call('kill', 'SIGKILL');
  if (typeof x.destroy === 'function') return call('destroy');
  if (typeof x.terminate === 'function') return call('terminate');
  if (typeof x.abort === 'function') return call('abort');
  call('close');
}
