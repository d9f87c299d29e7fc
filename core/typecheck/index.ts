// Type-checking a module off the reload path: the public API. typecheckModule() uses one
// shared checker (one worker thread, started on first use, idle-unref'd so it never holds the
// process open); closeTypecheck() ends it. Owners that want their own use TypeChecker.
import { TypeChecker, type CheckOptions } from './checker.ts';
import type { TypeDiagnostic, TypeReport, TypeUnit } from './types.ts';

export { TypeChecker, type CheckOptions, type TypeCheckerOptions } from './checker.ts';
export type { TypeDiagnostic, TypeReport, TypeUnit } from './types.ts';

let shared: TypeChecker | undefined;

/** Checks one module's own files with the host's strict settings; see TypeChecker.check. */
export function typecheckModule(unit: TypeUnit, opts?: CheckOptions): Promise<TypeReport> {
  shared ??= new TypeChecker();
  return shared.check(unit, opts);
}

/** Ends the shared checker's worker; the next typecheckModule() starts a new one. */
export async function closeTypecheck(): Promise<void> {
  const checker = shared;
  shared = undefined;
  await checker?.close();
}

/** `/abs/file.ts:12:7 TS2322 Type 'string' is not assignable to type 'number'.` (tsc's layout;
 *  a diagnostic with no position prints the file alone). */
export function formatDiagnostic(d: TypeDiagnostic): string {
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  return `${where} TS${d.code} ${d.message}`;
}
