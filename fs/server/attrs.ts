// Dialect conversions of a tree's Attr: 9P2000(.u) stat, .L getattr fields and dirent types,
// and the file-name rule every creating or walking message shares.

import {
  DMAPPEND, DMDIR, DMEXCL, DMSYMLINK, DT_DIR, DT_LNK, DT_REG, NONUNAME, P9_GETATTR_BASIC,
  QTAPPEND, QTDIR, QTEXCL, QTSYMLINK, S_IFDIR, S_IFLNK, S_IFREG,
} from '../codec/constants.ts';
import type { Dialect, Qid, Stat } from '../codec/messages.ts';
import { encodeRgetattrNumbers } from '../codec/getattr.ts';
import type { Encoded } from './handler.ts';
import { E } from '../errors.ts';
import type { Attr, Node } from '../tree/types.ts';

export function isDir(qid: Qid): boolean { return (qid.type & QTDIR) !== 0; }

/** "" / "." / ".." / names with "/" (or NUL, which the codec already refuses) cannot be created. */
export function checkNewName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw E.badName;
}

/** The 9P2000 mode: permission bits plus the qid type mirrored into the top byte. */
export function dmMode(qid: Qid, perm: number): number {
  let m = perm & 0o777;
  if (qid.type & QTDIR) m |= DMDIR;
  if (qid.type & QTAPPEND) m |= DMAPPEND;
  if (qid.type & QTEXCL) m |= DMEXCL;
  if (qid.type & QTSYMLINK) m |= DMSYMLINK;
  return m >>> 0;
}

export function toStat(node: Node, a: Attr, dialect: Dialect): Stat {
  const qid = node.qid;
  const st: Stat = {
    type: 0, dev: 0, qid: { ...qid }, mode: dmMode(qid, a.mode),
    atime: Math.floor(okMs(a.atimeMs) / 1000) >>> 0, mtime: Math.floor(okMs(a.mtimeMs) / 1000) >>> 0,
    length: isDir(qid) ? 0n : a.size, name: node.name, uid: a.uid, gid: a.gid, muid: a.muid,
  };
  if (dialect === '9P2000.u') st.dotu = { extension: '', nUid: a.nUid >>> 0, nGid: a.nGid >>> 0, nMuid: NONUNAME };
  return st;
}

/**
 * The stat of a node as Tstat and directory reads give it: with 9P2000.u a symlink's target is
 * the extension (Linux's .u client reads the link from it; empty, readlink(2) returns "").
 */
export async function statOf(node: Node, dialect: Dialect): Promise<Stat> {
  const st = toStat(node, await node.getattr(), dialect);
  if (st.dotu && node.qid.type & QTSYMLINK && node.readlink) st.dotu.extension = await node.readlink();
  return st;
}

/** Linux st_mode: file type bits + permissions. */
export function linuxMode(qid: Qid, perm: number): number {
  const type = qid.type & QTDIR ? S_IFDIR : qid.type & QTSYMLINK ? S_IFLNK : S_IFREG;
  return (type | (perm & 0o7777)) >>> 0;
}

export function direntType(qid: Qid): number {
  return qid.type & QTDIR ? DT_DIR : qid.type & QTSYMLINK ? DT_LNK : DT_REG;
}

// A tree may hand back any number: anything not a sane epoch time shows as 0.
const okMs = (ms: number): number => (Number.isFinite(ms) && ms >= 0 && ms < 8.64e15 ? ms : 0);
const sec = (ms: number): number => Math.floor(okMs(ms) / 1000);
const nsec = (ms: number): number => Math.floor((okMs(ms) % 1000) * 1e6);
const MAX_BLOCKS = BigInt(Number.MAX_SAFE_INTEGER);

/** The Rgetattr for `a`, encoded from numbers (codec/getattr.ts: no BigInt per field). */
export function toGetattr(tag: number, node: Node, a: Attr): Encoded {
  const qid = node.qid;
  const size = isDir(qid) ? 0n : a.size;
  const blocks = (size + 511n) / 512n;
  const frame = encodeRgetattrNumbers(tag, {
    valid: P9_GETATTR_BASIC, qid, mode: linuxMode(qid, a.mode),
    uid: a.nUid >>> 0, gid: a.nGid >>> 0, nlink: a.nlink, rdev: 0, size, blksize: 4096,
    blocks: blocks > MAX_BLOCKS ? Number.MAX_SAFE_INTEGER : Number(blocks),
    atimeSec: sec(a.atimeMs), atimeNsec: nsec(a.atimeMs), mtimeSec: sec(a.mtimeMs), mtimeNsec: nsec(a.mtimeMs),
    ctimeSec: sec(a.ctimeMs), ctimeNsec: nsec(a.ctimeMs), btimeSec: 0, btimeNsec: 0, gen: 0,
    dataVersion: qid.version,
  });
  return { type: 'Encoded', tag, frame };
}
