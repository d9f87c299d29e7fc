// Test helpers: a deadline for any wait, and resources closed in reverse order of opening.

/** Runs `p` with a deadline naming what it waited for. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** `later(fn)` registers a closer; `cleanup()` runs them newest first (errors ignored). */
export function closers(): { later(fn: () => Promise<unknown>): void; cleanup(): Promise<void> } {
  const list: Array<() => Promise<unknown>> = [];
  return {
    later: (fn) => { list.push(fn); },
    cleanup: async () => {
      for (const fn of list.splice(0).reverse()) await fn().catch(() => undefined);
    },
  };
}
