// Stable handles for `dynamic` dependencies: the dependent keeps one object for its lifetime;
// every use reaches the provider's current instance. While no provider is active, method calls
// wait (bounded) for one, then fail with CHS_ERR_DEP_UNAVAILABLE.
import { chsError } from './errors.ts';
import type { Requirement } from './types.ts';

export interface ProviderLookup {
  /** Active providers' services for the requirement, best first. */
  current(req: Requirement): unknown[];
  /** Resolves when some provider for req is active, or rejects after ms. */
  waitFor(req: Requirement, ms: number): Promise<unknown>;
}

/**
 * For cardinality 1 / 0..1: a Proxy. `handle.method(...)` calls the current provider (waiting for
 * one if needed; the call then returns a promise). Extra members: `$current` (the provider's
 * service or undefined), `$available` (boolean), `$ready(ms?)` (promise of the service).
 * For 0..n / 1..n: an object whose `$all` is the current list of services.
 */
export function dynamicHandle(dependent: string, req: Requirement, lookup: ProviderLookup, waitMs: number): object {
  const wait = (ms = waitMs) =>
    lookup.waitFor(req, ms).catch(() => {
      throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${dependent}: no provider of "${req.service}@${req.range}" became available within ${ms} ms`);
    });
  if (req.cardinality === '0..n' || req.cardinality === '1..n') {
    return Object.freeze({
      get $all() { return lookup.current(req); },
      $ready: (ms?: number) => wait(ms).then(() => lookup.current(req)),
    });
  }
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      const svc = lookup.current(req)[0] as Record<string | symbol, unknown> | undefined;
      if (prop === '$current') return svc;
      if (prop === '$available') return svc !== undefined;
      if (prop === '$ready') return (ms?: number) => wait(ms);
      if (svc !== undefined) {
        const v = svc[prop];
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(svc) : v;
      }
      return (...args: unknown[]) =>
        wait().then((s) => {
          const fn = (s as Record<string, unknown>)[prop];
          if (typeof fn !== 'function') throw new TypeError(`${req.service}.${String(prop)} is not a function`);
          return (fn as (...a: unknown[]) => unknown).apply(s, args);
        });
    },
    has(_t, prop) {
      const svc = lookup.current(req)[0];
      return svc !== undefined && typeof svc === 'object' && prop in (svc as object);
    },
  });
}
