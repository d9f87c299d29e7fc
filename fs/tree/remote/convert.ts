// Conversions between what a remote 9P server answers and what our trees speak: Rgetattr and
// 9P2000 stats to Attr, AttrChange to Tsetattr / Twstat, and the errors a relay passes on.

import {
  DMDIR, EACCES, EBADF, ESTALE, EEXIST, EINVAL, EIO, EISDIR, ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP, EPERM, EXDEV, NONUNAME,
  P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET, P9_SETATTR_GID, P9_SETATTR_MODE, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET,
  P9_SETATTR_SIZE, P9_SETATTR_UID, nullStat,
} from '../../codec/index.ts';
import type { Dialect, Rgetattr, Stat, Tsetattr } from '../../codec/index.ts';
import { E, NineError, RemoteError } from '../../errors.ts';
import type { Attr, AttrChange } from '../types.ts';

type Body<T> = T extends unknown ? Omit<T, 'tag'> : never;

const msOf = (sec: bigint, nsec: bigint): number => Number(sec) * 1000 + Math.floor(Number(nsec) / 1e6);
const secOf = (ms: number): bigint => BigInt(Math.floor(ms / 1000));
const nsecOf = (ms: number): bigint => BigInt(Math.floor((((ms % 1000) + 1000) % 1000) * 1e6));

export function attrFromGetattr(a: Rgetattr): Attr {
  return {
    mode: a.mode & 0o7777, size: a.size,
    atimeMs: msOf(a.atimeSec, a.atimeNsec), mtimeMs: msOf(a.mtimeSec, a.mtimeNsec), ctimeMs: msOf(a.ctimeSec, a.ctimeNsec),
    // .L carries numbers only; the names are the numbers (what ls -n would show).
    uid: String(a.uid), gid: String(a.gid), muid: String(a.uid), nUid: a.uid, nGid: a.gid, nlink: Number(a.nlink),
  };
}

export function attrFromStat(s: Stat): Attr {
  const num = (n: number | undefined): number => (n === undefined || n === NONUNAME ? 0 : n);
  return {
    mode: s.mode & 0o777, size: s.length, atimeMs: s.atime * 1000, mtimeMs: s.mtime * 1000, ctimeMs: s.mtime * 1000,
    uid: s.uid, gid: s.gid, muid: s.muid, nUid: num(s.dotu?.nUid), nGid: num(s.dotu?.nGid), nlink: 1,
  };
}

/** Tsetattr for a change; owner names cannot be expressed in .L (EOPNOTSUPP, nothing applied). */
export function setattrOf(fid: number, c: AttrChange): Body<Tsetattr> {
  if ((c.uid !== undefined && c.nUid === undefined) || (c.gid !== undefined && c.nGid === undefined)) {
    throw E.notSupported.withText('owner names cannot be set over 9P2000.L');
  }
  let valid = 0;
  if (c.mode !== undefined) valid |= P9_SETATTR_MODE;
  if (c.nUid !== undefined) valid |= P9_SETATTR_UID;
  if (c.nGid !== undefined) valid |= P9_SETATTR_GID;
  if (c.size !== undefined) valid |= P9_SETATTR_SIZE;
  if (c.atimeMs !== undefined) valid |= P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
  if (c.mtimeMs !== undefined) valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
  return {
    type: 'Tsetattr', fid, valid, mode: c.mode ?? 0, uid: c.nUid ?? 0, gid: c.nGid ?? 0, size: c.size ?? 0n,
    atimeSec: secOf(c.atimeMs ?? 0), atimeNsec: nsecOf(c.atimeMs ?? 0),
    mtimeSec: secOf(c.mtimeMs ?? 0), mtimeNsec: nsecOf(c.mtimeMs ?? 0),
  };
}

/** A Twstat stat for a change (don't-touch values elsewhere); numeric owners need 9P2000.u. */
export function wstatOf(c: AttrChange, dir: boolean, dialect: Dialect): Stat {
  const st = nullStat(dialect);
  if (c.mode !== undefined) st.mode = ((dir ? DMDIR : 0) | (c.mode & 0o777)) >>> 0;
  if (c.size !== undefined) st.length = c.size;
  if (c.atimeMs !== undefined) st.atime = Math.floor(c.atimeMs / 1000) >>> 0;
  if (c.mtimeMs !== undefined) st.mtime = Math.floor(c.mtimeMs / 1000) >>> 0;
  if (c.uid !== undefined) st.uid = c.uid;
  if (c.gid !== undefined) st.gid = c.gid;
  if (c.nUid !== undefined || c.nGid !== undefined) {
    if (!st.dotu) throw E.notSupported.withText('numeric owners cannot be set over 9P2000');
    if (c.nUid !== undefined) st.dotu.nUid = c.nUid >>> 0;
    if (c.nGid !== undefined) st.dotu.nGid = c.nGid >>> 0;
  }
  return st;
}

/** Errnos for the Plan 9 error strings a 9P2000 server sends without one (lib9p, ours, Inferno). */
const CLASSIC: ReadonlyArray<[RegExp, number]> = [
  [/has been removed|stale/i, ESTALE],
  [/unknown fid|fid unknown/i, EBADF],
  [/does not exist|not found|no such file/i, ENOENT],
  [/permission denied|access denied/i, EACCES],
  [/already exists|file exists/i, EEXIST],
  [/is a directory/i, EISDIR],
  [/not a directory|walk in non-directory/i, ENOTDIR],
  [/not empty/i, ENOTEMPTY],
  [/not supported|not implemented|bad use of fid|operation not permitted/i, EOPNOTSUPP],
  [/cross-device/i, EXDEV],
  [/read-only|not owner/i, EPERM],
  [/illegal|bad (name|offset|mode)|invalid/i, EINVAL],
];

export function classicErrno(ename: string): number {
  for (const [re, errno] of CLASSIC) if (re.test(ename)) return errno;
  return EIO;
}

/** The remote's answer as ours: same errno (guessed from the text for 9P2000) and same text. */
export function passThrough(err: RemoteError): NineError {
  return new NineError(err.errno ?? classicErrno(err.ename), err.ename);
}

export function remoteErrno(err: unknown): number | undefined {
  return err instanceof RemoteError ? err.errno ?? classicErrno(err.ename) : undefined;
}
