// Timer globals injected into module code (see loader.ts). Each timer is registered with the
// instance whose async context created it (AsyncLocalStorage), so it is cleared when that
// instance stops and a throw in its callback is attributed to that instance, not the host.
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a running instance exposes to the code running on its behalf. */
export interface RunScope {
  readonly id: string;
  trackTimer(clear: () => void): () => void;
  crash(err: unknown): void;
}

/** The instance on whose behalf the current code runs (set around start and inherited by callbacks). */
export const runScope = new AsyncLocalStorage<RunScope>();

type Fn = (...args: any[]) => unknown;

function guard(scope: RunScope | undefined, cb: Fn): Fn {
  if (!scope) return cb;
  return (...args) => {
    try {
      return cb(...args);
    } catch (err) {
      scope.crash(err);
      return undefined;
    }
  };
}

const handles = new WeakMap<object, () => void>();

function scheduled<H extends object>(make: (cb: Fn) => H, clear: (h: H) => void, cb: Fn, once: boolean): H {
  const scope = runScope.getStore();
  let untrack: () => void = () => {};
  const body = guard(scope, cb);
  const h = make(once ? (...a) => { untrack(); return body(...a); } : body);
  if (scope) {
    untrack = scope.trackTimer(() => clear(h));
    handles.set(h, untrack);
  }
  return h;
}

function cleared<H>(clear: (h: H) => void) {
  return (h: H) => {
    if (h && typeof h === 'object') handles.get(h)?.();
    clear(h);
  };
}

export const moduleTimers = {
  setTimeout: (cb: Fn, ms?: number, ...args: unknown[]) => scheduled<NodeJS.Timeout>((f) => setTimeout(f, ms, ...args), clearTimeout, cb, true),
  setInterval: (cb: Fn, ms?: number, ...args: unknown[]) => scheduled<NodeJS.Timeout>((f) => setInterval(f, ms, ...args), clearInterval, cb, false),
  setImmediate: (cb: Fn, ...args: unknown[]) => scheduled<NodeJS.Immediate>((f) => setImmediate(f, ...args), clearImmediate, cb, true),
  clearTimeout: cleared(clearTimeout),
  clearInterval: cleared(clearInterval),
  clearImmediate: cleared(clearImmediate),
};
