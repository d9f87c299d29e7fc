// Test helpers: a deadline for any wait, polling until a condition holds, and resources closed in
// reverse order of opening.

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

/** Polls `check` until it returns a truthy value (typed without its falsy members); fails naming `what` after `ms`. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, ms = 5_000, everyMs = 5): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
