// This process's open descriptors, from Linux's /proc: how many, and how many on paths under a
// prefix (a server running in-process holds its files and sockets here too); its threads and
// direct child processes (what isolated modules leave behind if they leak).
import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';

/** Descriptors this process has open. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Descriptors this process holds open on paths starting with `prefix` (pass `dir + '/'` for what is inside `dir`). */
export async function fdsUnder(prefix: string): Promise<number> {
  let n = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    try {
      if ((await readlink(`/proc/self/fd/${fd}`)).startsWith(prefix)) n++;
    } catch { /* closed meanwhile */ }
  }
  return n;
}

/** This process's threads (Linux /proc). */
export function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

/** This process's direct child processes (Linux /proc). */
export function childCount(): number {
  let n = 0;
  for (const task of readdirSync('/proc/self/task')) {
    try {
      n += readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean).length;
    } catch { /* task ended meanwhile */ }
  }
  return n;
}
