// Extra test helpers on top of project.ts: a per-test scope that closes every host and removes
// every project it made (in reverse order), instance lookup, and a shared record bag that test
// modules (evaluated in this realm) and tests both see through globalThis.__chs.
import type { Instance } from '../../core/instance.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from './project.ts';

export interface Scope {
  project(opts: Parameters<typeof makeProject>[0]): Promise<Project>;
  host(project: Project, opts?: Parameters<typeof startHost>[1]): Promise<TestHost>;
  /** Closes the hosts and removes the projects made since the last cleanup (newest first). */
  cleanup(): Promise<void>;
}

export function scope(): Scope {
  let open: Array<() => Promise<void>> = [];
  return {
    async project(opts) {
      const p = await makeProject(opts);
      open.push(() => p.cleanup());
      return p;
    },
    async host(project, opts) {
      const th = await startHost(project, opts);
      open.push(() => th.close());
      return th;
    },
    async cleanup() {
      const fns = open.reverse();
      open = [];
      const errors: unknown[] = [];
      for (const fn of fns) await fn().catch((err: unknown) => errors.push(err));
      if (errors.length) throw errors[0];
    },
  };
}

/** The instance `id` of the host (fails the test if the host has no such instance). */
export function inst(th: TestHost, id: string): Instance {
  const i = th.host.instances.get(id);
  if (!i) throw new Error(`host has no instance "${id}" (have: ${[...th.host.instances.keys()].join(', ') || 'none'})`);
  return i;
}

/** What test modules write to `globalThis.__chs` (module source: `const bag = (globalThis as any).__chs`). */
export function bag(): Record<string, any> {
  const g = globalThis as { __chs?: Record<string, any> };
  g.__chs ??= {};
  return g.__chs;
}

export function resetBag(): void {
  (globalThis as { __chs?: Record<string, any> }).__chs = {};
}

/** Module source prelude giving the module `bag`, the same object as bag() in the test. */
export const BAG = `const bag: Record<string, any> = ((globalThis as any).__chs ??= {});\n`;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A module that just returns its config (and id) as its service. */
export const plain = `${BAG}
export function start(ctx: any) {
  return { id: ctx.id, config: ctx.config };
}
`;

type Falsy = false | null | undefined | 0 | '';

/** waitFor whose result type drops the falsy alternatives `check` returns while not ready. */
export async function until<T>(what: string, check: () => T | Falsy | Promise<T | Falsy>, ms?: number): Promise<T> {
  return (await waitFor(what, check, ms)) as T;
}
