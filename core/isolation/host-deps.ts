// The dependencies of an isolated module as its isolate sees them: what it is told of each
// (DepInfo: bound or not, how many, the providers of a dynamic 0..n one by number) and the calls
// it makes through them, answered here in the host (a provider's method, $ready, ctx.host).
import { chsError } from '../errors.ts';
import type { Descriptor, ModuleContext } from '../types.ts';
import type { CallMsg, DepInfo } from './protocol.ts';

/** The host's numbers for provider services, so an isolate can name one of a dynamic 0..n dependency's. */
const serviceIds = new WeakMap<object, number>();
let lastServiceId = 0;

function serviceId(svc: unknown): number {
  if (svc === null || (typeof svc !== 'object' && typeof svc !== 'function')) return 0;
  let id = serviceIds.get(svc);
  if (id === undefined) serviceIds.set(svc, (id = ++lastServiceId));
  return id;
}

/** A dynamic 0..n dependency's bound providers now, as service numbers (0: a provider without a service). */
export function providerIds(dep: unknown): number[] {
  return ((dep as { $all: unknown[] }).$all ?? []).map(serviceId);
}

export function depInfo(desc: Descriptor, deps: Record<string, unknown>): DepInfo[] {
  return desc.requires.map((r): DepInfo => {
    const v = deps[r.as];
    const many = r.cardinality === '0..n' || r.cardinality === '1..n';
    if (r.policy === 'dynamic') {
      if (many) return { as: r.as, service: r.service, policy: 'dynamic', shape: 'all', available: false, count: 0, ids: providerIds(v) };
      return { as: r.as, service: r.service, policy: 'dynamic', shape: 'one', available: Boolean((v as { $available?: boolean }).$available), count: 0 };
    }
    if (many) return { as: r.as, service: r.service, policy: 'static', shape: 'list', available: true, count: (v as unknown[]).length };
    return { as: r.as, service: r.service, policy: 'static', shape: 'one', available: v !== undefined, count: 0 };
  });
}

/** A dependency's method, $ready, or a read-only ctx.host member, called for the isolate. */
export async function serveCall(ctx: ModuleContext, c: CallMsg): Promise<unknown> {
  if (c.target === 'host') {
    const fn = (ctx.host as unknown as Record<string, unknown>)[c.member];
    if (typeof fn !== 'function') throw chsError('CHS_ERR_ISOLATION_UNSUPPORTED', `${ctx.id}: ctx.host.${c.member} is not available in an isolated module`);
    return (fn as (...a: unknown[]) => unknown).apply(ctx.host, c.args);
  }
  const dep = (ctx.deps as Record<string, unknown>)[c.as ?? ''];
  if (c.target === 'ready') {
    await (dep as { $ready(ms?: number): Promise<unknown> }).$ready(c.args[0] as number | undefined);
    // A 0..n dependency: the providers bound now, so the isolate's $all has them once $ready resolves.
    return Array.isArray((dep as { $all?: unknown }).$all) ? providerIds(dep) : true;
  }
  if (c.target !== 'dep') throw new Error(`${ctx.id}: unknown call target ${c.target}`);
  if (c.sid !== undefined) {
    // One provider of a dynamic 0..n dependency, as the isolate's $all named it.
    const svc = ((dep as { $all: unknown[] }).$all ?? []).find((x) => serviceId(x) === c.sid) as Record<string, unknown> | undefined;
    if (svc === undefined) throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${ctx.id}: ${c.label}: that provider is no longer bound (read $all again)`);
    const fn = svc[c.member];
    if (typeof fn !== 'function') throw new TypeError(`${ctx.id}: ${c.label} is not a function`);
    return await (fn as (...a: unknown[]) => unknown).apply(svc, c.args);
  }
  const svc = (c.index === undefined ? dep : (dep as unknown[])[c.index]) as Record<string, unknown> | undefined;
  if (svc === undefined || svc === null) throw chsError('CHS_ERR_DEP_UNAVAILABLE', `${ctx.id}: ${c.label}: no provider is bound`);
  const fn = svc[c.member];
  if (typeof fn !== 'function') throw new TypeError(`${ctx.id}: ${c.label} is not a function`);
  return await (fn as (...a: unknown[]) => unknown).apply(svc, c.args);
}
