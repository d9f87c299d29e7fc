// From a local file's lstat to what 9P says about it: qid type/path/version and the Attr.
//
// qid.path is derived from (dev, ino) and must be unique in the tree and never reused. Inode
// numbers are reused at once (ext4 hands a freed inode to the next create), so the birth time
// (statx btime, constant for an inode's life) is mixed in: path = ino in the low 40 bits and a
// 24-bit hash of (dev, btime) above it; an inode number of 40 bits or more is hashed whole with
// them. Two files collide only when that 24-bit hash does too (a 1 in 16M chance per reused
// inode or per pair of mounts with the same inode number), never for two live files of one fs
// with ino < 2^40. It depends on nothing of ours, so it is stable across server restarts.
// (Where libuv cannot use statx it reports ctime as btime; qid.path would then change with
// ctime. Every Linux since 4.11 has statx.)
//
// qid.version: a 32-bit hash of (mtime ns, ctime ns, size), plus the number of writes made
// through this node — timestamps tick in jiffies (4 ms here), so two same-size writes in one tick
// would otherwise look unchanged.

import type { BigIntStats } from 'node:fs';
import { QTDIR, QTFILE, QTSYMLINK } from '../../codec/constants.ts';
import type { Attr } from '../types.ts';

const M64 = (1n << 64n) - 1n;

/** splitmix64's finaliser: a cheap, well-spread 64-bit hash. */
function mix(x: bigint): bigint {
  let z = (x + 0x9e3779b97f4a7c15n) & M64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
}

export function qidPath(st: BigIntStats): bigint {
  const tag = mix(st.dev ^ mix(st.birthtimeNs));
  if (st.ino < 1n << 40n) return ((tag & 0xffffffn) << 40n) | st.ino;
  return mix(tag ^ st.ino);
}

export function qidVersion(st: BigIntStats, writes: number): number {
  const h = mix(st.mtimeNs ^ mix(st.ctimeNs ^ (st.size << 1n)));
  return (Number(h & 0xffffffffn) + writes) >>> 0;
}

export type Kind = 'dir' | 'file' | 'symlink' | 'special';

export function kindOf(st: BigIntStats): Kind {
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFile()) return 'file';
  return 'special';
}

export function qidType(kind: Kind): number {
  return kind === 'dir' ? QTDIR : kind === 'symlink' ? QTSYMLINK : QTFILE;
}

const ms = (ns: bigint): number => Number(ns / 1000n) / 1000;

export function toAttr(st: BigIntStats): Attr {
  const uid = String(st.uid);
  return {
    mode: Number(st.mode & 0o7777n),
    size: st.size,
    atimeMs: ms(st.atimeNs),
    mtimeMs: ms(st.mtimeNs),
    ctimeMs: ms(st.ctimeNs),
    uid, gid: String(st.gid), muid: uid,
    nUid: Number(st.uid), nGid: Number(st.gid), nlink: Number(st.nlink),
  };
}
