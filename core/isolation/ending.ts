// The end of an isolated incarnation's isolate after a clean handover stop: a moment later, off
// the next start's path; a final stop ends them all at once and waits (./host.ts).
import type { Isolate } from './spawn.ts';

/**
 * How long after a clean handover stop an isolate is ended. Its teardown is done; what ending it
 * costs (a worker's heap torn down and its thread joined, a process reaped) would compete for the
 * CPU with the next incarnation's start and its first requests, so it waits a moment.
 */
export const END_AFTER_HANDOVER_MS = 100;

/** Instance id -> the isolates that stopped handing over to a next one, still to be ended (or ending). */
const ending = new Map<string, Set<{ ended: Promise<void>; now(): void }>>();

/** Ends `iso` (of instance `id`) END_AFTER_HANDOVER_MS from now, or at once when settled(id) asks. */
export function endLater(id: string, iso: Isolate): void {
  let set = ending.get(id);
  if (!set) ending.set(id, (set = new Set()));
  const s = set;
  let go!: () => void;
  const due = new Promise<void>((r) => { go = r; });
  const timer = setTimeout(go, END_AFTER_HANDOVER_MS);
  timer.unref();
  const entry = { ended: due.then(() => iso.kill()), now: () => { clearTimeout(timer); go(); } };
  s.add(entry);
  void entry.ended.finally(() => {
    s.delete(entry);
    if (!s.size && ending.get(id) === s) ending.delete(id);
  });
}

/** Ends every earlier isolate of `id` now; resolves once they have ended. */
export async function settled(id: string): Promise<void> {
  const set = ending.get(id);
  if (!set) return;
  for (const e of set) e.now();
  await Promise.all([...set].map((e) => e.ended));
}

