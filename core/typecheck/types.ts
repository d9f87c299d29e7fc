// The type checker's shapes, shared by the host-side API (checker.ts) and the worker
// (worker.ts): what is checked, what comes back, and the messages between the two threads.

/** One module to check: its folder and its entry, relative to the folder. */
export interface TypeUnit {
  name: string;
  dir: string;
  entry: string;
}

/** One TypeScript diagnostic in a file of the module. line and column are 1-based, as tsc
 *  prints them; both are 0 for a diagnostic with no position (an options problem). */
export interface TypeDiagnostic {
  file: string;
  line: number;
  column: number;
  code: number;
  message: string;
}

/**
 * The outcome of one check. `status` says whether it ran to the end:
 * - `checked`: `diagnostics` is complete and `ok` is true when it is empty;
 * - `superseded`: a newer check of the same module folder (or an abort of the slot) overtook it;
 *   only the newest result matters, so this one carries no diagnostics and `ok` is false;
 * - `timeout`: it did not finish within its timeoutMs; no diagnostics, `ok` false.
 * `ms` is the wall time from the call to the outcome (queueing and a cold worker included).
 */
export interface TypeReport {
  ok: boolean;
  status: 'checked' | 'superseded' | 'timeout';
  diagnostics: TypeDiagnostic[];
  ms: number;
}

/** host -> worker: check this unit; the request may be cancelled through the shared flag. */
export interface CheckRequest {
  id: number;
  unit: TypeUnit;
}

/** worker -> host: one answer per request, in order. */
export type CheckReply =
  | { id: number; kind: 'done'; diagnostics: TypeDiagnostic[]; ms: number }
  | { id: number; kind: 'cancelled' }
  | { id: number; kind: 'failed'; error: string };
