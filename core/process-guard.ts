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

function dispatch(kind: string, err: unknown): void {
  const scope = runScope.getStore() ?? findByStack(err);
  if (scope) {
    scope.crash(err);
    return;
  }
  for (const s of sinks) s.hostError(kind, err);
}

function findByStack(err: unknown): RunScope | undefined {
  const stack = err instanceof Error ? err.stack ?? '' : '';
  for (const s of sinks) {
    const scope = s.scopeForStack(stack);
    if (scope) return scope;
  }
  return undefined;
}

const onException = (err: unknown) => dispatch('uncaught exception', err);
const onRejection = (reason: unknown) => dispatch('unhandled rejection', reason);

/** Installs the handlers while at least one host is running; the last host out removes them. */
export function guardProcess(sink: CrashSink): () => void {
  if (!sinks.size) {
    process.on('uncaughtException', onException);
    process.on('unhandledRejection', onRejection);
  }
  sinks.add(sink);
  return () => {
    if (!sinks.delete(sink) || sinks.size) return;
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}

/** True when `stack` mentions a file inside `dir`. */
export function stackMentions(stack: string, dir: string): boolean {
  return stack.includes(dir + sep);
}
