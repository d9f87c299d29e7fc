// Rgetattr straight from JS numbers. The Rgetattr message type carries 17 u64 fields as BigInts;
// a server building one per Tgetattr allocated ~15 BigInts, which was the largest share of our
// own JS time per request on `diodload -g` (a --cpu-prof of bench/9p-server.ts: toGetattr 2.6%
// of wall time against 1.1% for all of Session.receive). Here every u64 but size and qid.path
// is a safe integer number, written as two u32 halves; the checks are the Writer's (every field
// in range, else a CodecError naming it). decode() of the result is an ordinary Rgetattr.

import { CodecError } from './errors.ts';
import { MSG } from './constants.ts';
import type { Qid } from './messages.ts';

export interface GetattrNumbers {
  valid: number;
  qid: Qid;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  rdev: number;
  size: bigint;
  blksize: number;
  blocks: number;
  atimeSec: number;
  atimeNsec: number;
  mtimeSec: number;
  mtimeNsec: number;
  ctimeSec: number;
  ctimeNsec: number;
  btimeSec: number;
  btimeNsec: number;
  gen: number;
  dataVersion: number;
}

export const RGETATTR_SIZE = 160;
const TWO32 = 0x1_0000_0000;
const TWO64 = 1n << 64n;

function bad(tag: number, field: string, value: unknown, what: string): CodecError {
  return new CodecError('encode', `Rgetattr.${field}: ${String(value)} is not ${what}`, { tag, msgType: MSG.Rgetattr });
}

function u32(v: DataView, at: number, x: number, tag: number, field: string): void {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw bad(tag, field, x, `an integer in 0..${0xffffffff}`);
  v.setUint32(at, x, true);
}

function u64n(v: DataView, at: number, x: number, tag: number, field: string): void {
  if (!Number.isSafeInteger(x) || x < 0) throw bad(tag, field, x, 'a safe non-negative integer');
  v.setUint32(at, x % TWO32, true);
  v.setUint32(at + 4, Math.floor(x / TWO32), true);
}

function u64(v: DataView, at: number, x: bigint, tag: number, field: string): void {
  if (typeof x !== 'bigint' || x < 0n || x >= TWO64) throw bad(tag, field, x, 'a bigint in 0..2^64-1');
  v.setBigUint64(at, x, true);
}

export function encodeRgetattrNumbers(tag: number, f: GetattrNumbers): Buffer {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffff) throw bad(tag, 'tag', tag, 'an integer in 0..65535');
  const b = Buffer.allocUnsafe(RGETATTR_SIZE);
  const v = new DataView(b.buffer, b.byteOffset, RGETATTR_SIZE);
  v.setUint32(0, RGETATTR_SIZE, true);
  b[4] = MSG.Rgetattr;
  v.setUint16(5, tag, true);
  u64n(v, 7, f.valid, tag, 'valid');
  const q = f.qid;
  if (!Number.isInteger(q.type) || q.type < 0 || q.type > 0xff) throw bad(tag, 'qid.type', q.type, 'an integer in 0..255');
  b[15] = q.type;
  u32(v, 16, q.version, tag, 'qid.version');
  u64(v, 20, q.path, tag, 'qid.path');
  u32(v, 28, f.mode, tag, 'mode'); u32(v, 32, f.uid, tag, 'uid'); u32(v, 36, f.gid, tag, 'gid');
  u64n(v, 40, f.nlink, tag, 'nlink'); u64n(v, 48, f.rdev, tag, 'rdev'); u64(v, 56, f.size, tag, 'size');
  u64n(v, 64, f.blksize, tag, 'blksize'); u64n(v, 72, f.blocks, tag, 'blocks');
  u64n(v, 80, f.atimeSec, tag, 'atimeSec'); u64n(v, 88, f.atimeNsec, tag, 'atimeNsec');
  u64n(v, 96, f.mtimeSec, tag, 'mtimeSec'); u64n(v, 104, f.mtimeNsec, tag, 'mtimeNsec');
  u64n(v, 112, f.ctimeSec, tag, 'ctimeSec'); u64n(v, 120, f.ctimeNsec, tag, 'ctimeNsec');
  u64n(v, 128, f.btimeSec, tag, 'btimeSec'); u64n(v, 136, f.btimeNsec, tag, 'btimeNsec');
  u64n(v, 144, f.gen, tag, 'gen'); u64n(v, 152, f.dataVersion, tag, 'dataVersion');
  return b;
}
