// Names confirmed by their directory's attributes (NFS's way of revalidating a cached name):
// a name the remote confirmed (a walk, a listing) while its directory's attributes read S is
// still right while they read S, since adding, removing or renaming an entry changes the
// directory's mtime and ctime (and qid.version on servers that keep one). So a lookup whose name
// is older than attrMs asks for the directory's attributes (one getattr, shared by every lookup
// in it, itself cached for attrMs) instead of walking the name again, and keeps the child's fid.
//
// The stamp must have been answered before the walk or listing that confirmed the name was sent:
// a stamp read afterwards could include a change the walk did not see.
//
// Limits, written up in docs/exports.md:
//   - 9P2000 and 9P2000.u give times in whole seconds: there a stamp is used only when the
//     remote keeps qid.version (non-zero), which 9P says changes with every modification.
//   - A remote file system whose timestamps are coarse (Linux: a clock tick, 1-10 ms) and whose
//     qid.version is 0 (diod) shows the same stamp for two changes within one tick, so a change
//     made on the remote in the very tick of the stamp could go unseen; the name is therefore
//     walked again at least every REWALK_FACTOR x attrMs whatever the stamp says.

import type { Dialect } from '../../codec/index.ts';
import type { Attr } from '../types.ts';

/** A name confirmed only through its directory's stamp is walked again after this many attrMs. */
export const REWALK_FACTOR = 30;

/**
 * The change stamp of a directory with attributes `a` and qid.version `version`, or undefined
 * when its attributes cannot tell a change (classic dialects without qid.version).
 */
export function dirStamp(a: Attr, version: number, dialect: Dialect): string | undefined {
  if (dialect !== '9P2000.L' && version === 0) return undefined;
  return `${version}/${a.mtimeMs}/${a.ctimeMs}/${a.size}/${a.nlink}`;
}

/** Whether a name last walked at `walkedAt` may still be confirmed by a stamp (see REWALK_FACTOR). */
export function stampUsable(walkedAt: number, attrMs: number, now = Date.now()): boolean {
  return attrMs > 0 && now - walkedAt < REWALK_FACTOR * attrMs;
}
