// Keeps the host alive when module code throws or rejects outside start(): the error is
// attributed to the instance whose async scope it ran in (AsyncLocalStorage), or, failing that,
// to the instance whose module folder appears in the stack, and handed to that instance's
// crash handler. Errors no module owns are logged, never fatal.
import { sep } from 'node:path';
import { runScope, type RunScope } from './timers.ts';

export interface CrashSink {
  /** The running scope whose module folder contains `file`, if any. */
  scopeForStack(stack: string): RunScope | undefined;
  hostError(kind: string, err: unknown): void;
}

const sinks = new Set<CrashSink>();
let installed = false;

function dispatch(kind: string, err: unknown): void {
  const scope = runScope.getStore() ?? findByStack(err);
  if (scope) {
    scope.crash(err);
    return;
  }
  for (const s of sinks) s.hostError(kind, err);
  if (!sinks.size) console.error(`cheshire: ${kind}:`, err);
}

function findByStack(err: unknown): RunScope | undefined {
  const stack = err instanceof Error ? err.stack ?? '' : '';
  for (const s of sinks) {
    const scope = s.scopeForStack(stack);
    if (scope) return scope;
  }
  return undefined;
}

export function guardProcess(sink: CrashSink): () => void {
  sinks.add(sink);
  if (!installed) {
    installed = true;
    process.on('uncaughtException', (err) => dispatch('uncaught exception', err));
    process.on('unhandledRejection', (reason) => dispatch('unhandled rejection', reason));
  }
  return () => sinks.delete(sink);
}

/** True when `stack` mentions a file inside `dir`. */
export function stackMentions(stack: string, dir: string): boolean {
  return stack.includes(dir + sep);
}
