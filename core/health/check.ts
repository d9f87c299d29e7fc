// One call of a module's health(ctx): bounded by the descriptor's timeoutMs, its answer read as a
// HealthResult (a boolean, or { ok, ...detail }; a throw or anything else is a failure). The
// result holds plain JSON only: nothing of the module's objects outlives the call through it.
import { chsError } from '../errors.ts';
import type { HealthResult } from '../types.ts';

export interface Check {
  /** The result: the call's outcome, or CHS_ERR_HEALTH_TIMEOUT once timeoutMs passed. */
  result: Promise<HealthResult>;
  /** Resolves when the call itself settled (later than `result` when it overran). */
  settled: Promise<void>;
}

export function runCheck(id: string, call: () => unknown, timeoutMs: number): Check {
  const t0 = performance.now();
  const done = (ok: boolean, detail: unknown, error?: string): HealthResult => ({
    id, ok, at: new Date().toISOString(), ms: Math.round((performance.now() - t0) * 10) / 10,
    ...(detail === undefined ? {} : { detail }),
    ...(error === undefined ? {} : { error }),
  });
  let call$: Promise<unknown>;
  try {
    call$ = Promise.resolve(call());
  } catch (err) {
    call$ = Promise.reject(err);
  }
  const settled = call$.then(() => undefined, () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<HealthResult>((resolve) => {
    timer = setTimeout(() => resolve(done(false, undefined, chsError('CHS_ERR_HEALTH_TIMEOUT', `${id}: health(ctx) did not settle within ${timeoutMs} ms`).message)), timeoutMs);
    timer.unref();
  });
  const answered = call$.then(
    (v) => read(id, v, done),
    (err: unknown) => done(false, undefined, chsError('CHS_ERR_HEALTH_FAILED', `${id}: health(ctx) threw: ${(err as Error)?.message ?? String(err)}`).message),
  );
  const result = Promise.race([answered, timeout]).finally(() => clearTimeout(timer));
  return { result, settled };
}

type Done = (ok: boolean, detail: unknown, error?: string) => HealthResult;

function read(id: string, v: unknown, done: Done): HealthResult {
  const failed = (what: string) => chsError('CHS_ERR_HEALTH_FAILED', `${id}: ${what}`).message;
  if (typeof v === 'boolean') return done(v, undefined, v ? undefined : failed('health(ctx) returned false'));
  if (typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean') {
    const { ok, ...rest } = v as { ok: boolean } & Record<string, unknown>;
    const detail = Object.keys(rest).length ? plain(rest) : undefined;
    const why = typeof rest.error === 'string' ? rest.error : typeof rest.message === 'string' ? rest.message : 'not ok';
    return done(ok, detail, ok ? undefined : failed(`health(ctx) reported ${why}`));
  }
  return done(false, undefined, failed(`health(ctx) returned ${describe(v)}; expected a boolean or { ok: boolean, ...detail }`));
}

/** A JSON copy (the tree and the dashboard serve it as JSON), or a note saying why there is none. */
function plain(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v)) as unknown;
  } catch (err) {
    return { unserializable: (err as Error).message };
  }
}

function describe(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof v === 'object') return 'an object without a boolean "ok"';
  return `${typeof v} ${String(v).slice(0, 40)}`;
}
