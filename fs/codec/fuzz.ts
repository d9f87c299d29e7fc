// Seeded fuzzing for the codec: random valid messages of every type and dialect, then mutated
// frames (bit flips, truncation, extension, type swaps, huge counts). The properties: decode
// returns or throws CodecError, nothing else; whatever decodes re-encodes to the identical bytes.
// The tests run a bounded number of cases; run more on demand:
//   tsx fs/codec/fuzz.ts 1000000 [seed]

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodecError } from './errors.ts';
import { decode } from './decode.ts';
import { encode } from './encode.ts';
import { DIALECTS, DIALECT_MESSAGES } from './messages.ts';
import type { Dialect, Msg, MsgType, Qid, Rerror, Stat, Tattach, Tauth, Tcreate, Tfsync } from './messages.ts';

/** mulberry32: tiny, fast, good enough to explore inputs reproducibly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', 'a', 'usr', '..', '.', 'ñandú', '日本語', '😀', '\uFEFFbom', 'with space', 'x'.repeat(300)];

/** Random field values, biased toward the edges where bugs live. */
export class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number { return Math.floor(this.rnd() * n); }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)]!; }
  private edge(max: number): number {
    const r = this.int(6);
    if (r === 0) return 0;
    if (r === 1) return max;
    if (r === 2) return 1;
    return Math.floor(this.rnd() * (max + 1));
  }
  u8(): number { return this.edge(0xff); }
  u16(): number { return this.edge(0xffff); }
  u32(): number { return this.edge(0xffffffff); }
  u64(): bigint {
    const r = this.int(5);
    if (r === 0) return 0n;
    if (r === 1) return 0xffffffffffffffffn;
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
  str(): string { return this.int(4) === 0 ? String.fromCharCode(97 + this.int(26)).repeat(this.int(20)) : this.pick(STRINGS); }
  qid(): Qid { return { type: this.u8(), version: this.u32(), path: this.u64() }; }
  data(): Uint8Array {
    const b = new Uint8Array(this.int(8) === 0 ? this.int(2000) : this.int(40));
    for (let i = 0; i < b.length; i++) b[i] = this.int(256);
    return b;
  }
  stat(dialect: Dialect): Stat {
    const s: Stat = {
      type: this.u16(), dev: this.u32(), qid: this.qid(), mode: this.u32(), atime: this.u32(), mtime: this.u32(),
      length: this.u64(), name: this.str(), uid: this.str(), gid: this.str(), muid: this.str(),
    };
    if (dialect === '9P2000.u') s.dotu = { extension: this.str(), nUid: this.u32(), nGid: this.u32(), nMuid: this.u32() };
    return s;
  }
}

/** A random valid message of the given type, shaped for the dialect. */
export function randomMessage(g: Gen, type: MsgType, dialect: Dialect): Msg {
  const tag = g.u16();
  const numeric = dialect !== '9P2000';
  const dotu = dialect === '9P2000.u';
  switch (type) {
    case 'Tversion': case 'Rversion':
      return { type, tag, msize: g.u32(), version: g.pick(['9P2000', '9P2000.L', '9P2000.u', 'unknown', g.str()]) };
    case 'Tauth': {
      const m: Tauth = { type, tag, afid: g.u32(), uname: g.str(), aname: g.str() };
      if (numeric) m.nUname = g.u32();
      return m;
    }
    case 'Rauth': return { type, tag, aqid: g.qid() };
    case 'Tattach': {
      const m: Tattach = { type, tag, fid: g.u32(), afid: g.u32(), uname: g.str(), aname: g.str() };
      if (numeric) m.nUname = g.u32();
      return m;
    }
    case 'Rattach': case 'Rsymlink': case 'Rmknod': case 'Rmkdir': return { type, tag, qid: g.qid() };
    case 'Tflush': return { type, tag, oldtag: g.u16() };
    case 'Twalk': return { type, tag, fid: g.u32(), newfid: g.u32(), wnames: Array.from({ length: g.int(17) }, () => g.str()) };
    case 'Rwalk': return { type, tag, wqids: Array.from({ length: g.int(17) }, () => g.qid()) };
    case 'Tread': case 'Treaddir': return { type, tag, fid: g.u32(), offset: g.u64(), count: g.u32() };
    case 'Rread': case 'Rreaddir': return { type, tag, data: g.data() };
    case 'Twrite': return { type, tag, fid: g.u32(), offset: g.u64(), data: g.data() };
    case 'Rwrite': return { type, tag, count: g.u32() };
    case 'Tclunk': case 'Tremove': case 'Tstat': case 'Tstatfs': case 'Treadlink': return { type, tag, fid: g.u32() };
    case 'Rflush': case 'Rclunk': case 'Rremove': case 'Rwstat': case 'Rrename': case 'Rsetattr':
    case 'Rxattrcreate': case 'Rfsync': case 'Rlink': case 'Rrenameat': case 'Runlinkat':
      return { type, tag };
    case 'Rerror': {
      const m: Rerror = { type, tag, ename: g.str() };
      if (dotu) m.errno = g.u32();
      return m;
    }
    case 'Topen': return { type, tag, fid: g.u32(), mode: g.u8() };
    case 'Ropen': case 'Rcreate': case 'Rlopen': case 'Rlcreate': return { type, tag, qid: g.qid(), iounit: g.u32() };
    case 'Tcreate': {
      const m: Tcreate = { type, tag, fid: g.u32(), name: g.str(), perm: g.u32(), mode: g.u8() };
      if (dotu) m.extension = g.str();
      return m;
    }
    case 'Rstat': return { type, tag, stat: g.stat(dialect) };
    case 'Twstat': return { type, tag, fid: g.u32(), stat: g.stat(dialect) };
    case 'Rlerror': return { type, tag, ecode: g.u32() };
    case 'Rstatfs':
      return {
        type, tag, fsType: g.u32(), bsize: g.u32(), blocks: g.u64(), bfree: g.u64(), bavail: g.u64(),
        files: g.u64(), ffree: g.u64(), fsid: g.u64(), namelen: g.u32(),
      };
    case 'Tlopen': return { type, tag, fid: g.u32(), flags: g.u32() };
    case 'Tlcreate': return { type, tag, fid: g.u32(), name: g.str(), flags: g.u32(), mode: g.u32(), gid: g.u32() };
    case 'Tsymlink': return { type, tag, fid: g.u32(), name: g.str(), symtgt: g.str(), gid: g.u32() };
    case 'Tmknod':
      return { type, tag, dfid: g.u32(), name: g.str(), mode: g.u32(), major: g.u32(), minor: g.u32(), gid: g.u32() };
    case 'Trename': return { type, tag, fid: g.u32(), dfid: g.u32(), name: g.str() };
    case 'Rreadlink': return { type, tag, target: g.str() };
    case 'Tgetattr': return { type, tag, fid: g.u32(), requestMask: g.u64() };
    case 'Rgetattr':
      return {
        type, tag, valid: g.u64(), qid: g.qid(), mode: g.u32(), uid: g.u32(), gid: g.u32(), nlink: g.u64(),
        rdev: g.u64(), size: g.u64(), blksize: g.u64(), blocks: g.u64(), atimeSec: g.u64(), atimeNsec: g.u64(),
        mtimeSec: g.u64(), mtimeNsec: g.u64(), ctimeSec: g.u64(), ctimeNsec: g.u64(), btimeSec: g.u64(),
        btimeNsec: g.u64(), gen: g.u64(), dataVersion: g.u64(),
      };
    case 'Tsetattr':
      return {
        type, tag, fid: g.u32(), valid: g.u32(), mode: g.u32(), uid: g.u32(), gid: g.u32(), size: g.u64(),
        atimeSec: g.u64(), atimeNsec: g.u64(), mtimeSec: g.u64(), mtimeNsec: g.u64(),
      };
    case 'Txattrwalk': return { type, tag, fid: g.u32(), newfid: g.u32(), name: g.str() };
    case 'Rxattrwalk': return { type, tag, size: g.u64() };
    case 'Txattrcreate': return { type, tag, fid: g.u32(), name: g.str(), attrSize: g.u64(), flags: g.u32() };
    case 'Tfsync': {
      const m: Tfsync = { type, tag, fid: g.u32() };
      if (g.int(2) === 0) m.datasync = g.u32();
      return m;
    }
    case 'Tlock':
      return {
        type, tag, fid: g.u32(), lockType: g.u8(), flags: g.u32(), start: g.u64(), length: g.u64(),
        procId: g.u32(), clientId: g.str(),
      };
    case 'Rlock': return { type, tag, status: g.u8() };
    case 'Tgetlock':
      return { type, tag, fid: g.u32(), lockType: g.u8(), start: g.u64(), length: g.u64(), procId: g.u32(), clientId: g.str() };
    case 'Rgetlock':
      return { type, tag, lockType: g.u8(), start: g.u64(), length: g.u64(), procId: g.u32(), clientId: g.str() };
    case 'Tlink': return { type, tag, dfid: g.u32(), fid: g.u32(), name: g.str() };
    case 'Tmkdir': return { type, tag, dfid: g.u32(), name: g.str(), mode: g.u32(), gid: g.u32() };
    case 'Trenameat': return { type, tag, olddirfid: g.u32(), oldname: g.str(), newdirfid: g.u32(), newname: g.str() };
    case 'Tunlinkat': return { type, tag, dirfid: g.u32(), name: g.str(), flags: g.u32() };
    default: {
      const never: never = type;
      throw new Error(`no generator for ${String(never)}`);
    }
  }
}

function setSize(b: Uint8Array): void {
  if (b.length >= 4) new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(0, b.length, true);
}

/** One random corruption of a valid frame; usually re-fixes size[4] so the body parser is reached. */
export function mutate(g: Gen, frame: Uint8Array): Uint8Array {
  let b: Uint8Array = new Uint8Array(frame);
  const pos = () => g.int(Math.max(1, b.length));
  switch (g.int(9)) {
    case 0: for (let k = 1 + g.int(4); k > 0; k--) b[pos()]! ^= 1 << g.int(8); break;
    case 1: b = b.subarray(0, g.int(b.length)); break;
    case 2: { const extra = new Uint8Array(1 + g.int(8)); extra.forEach((_, i) => { extra[i] = g.int(256); }); const n = new Uint8Array(b.length + extra.length); n.set(b); n.set(extra, b.length); b = n; break; }
    case 3: b[pos()] = g.pick([0, 0xff, 0x80, 0x7f, 0x10, 0x11, g.int(256)]); break;
    case 4: if (b.length > 4) b[4] = g.int(256); break;
    case 5: { const p = pos(); if (p + 1 < b.length) { b[p] = g.pick([0xff, 0x11, 0x00, g.int(256)]); b[p + 1] = g.pick([0xff, 0x00, 0x7f]); } break; }
    case 6: { const p = pos(); const n = new Uint8Array(b.length + 1); n.set(b.subarray(0, p)); n[p] = g.int(256); n.set(b.subarray(p), p + 1); b = n; break; }
    case 7: { const p = pos(); b = new Uint8Array([...b.subarray(0, p), ...b.subarray(p + 1)]); break; }
    default: { b = new Uint8Array(g.int(40)); b.forEach((_, i) => { b[i] = g.int(256); }); if (b.length > 4) b[4] = 100 + g.int(28); break; }
  }
  if (g.int(10) < 8) setSize(b);
  return b;
}

export interface FuzzResult { cases: number; decoded: number; rejected: number; ms: number }

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Runs `cases` cases from `seed`: a quarter are intact random frames (must round-trip), the rest
 * mutated. Throws an Error naming seed, case and frame hex on the first property violation.
 */
export function runFuzz(cases: number, seed = 1): FuzzResult {
  const g = new Gen(prng(seed));
  const types = new Map(DIALECTS.map((d) => [d, [...DIALECT_MESSAGES[d]]] as const));
  const started = performance.now();
  let decoded = 0;
  let rejected = 0;
  for (let i = 0; i < cases; i++) {
    const dialect = g.pick(DIALECTS);
    const msg = randomMessage(g, g.pick(types.get(dialect)!), dialect);
    const valid = encode(msg, dialect);
    const frame = g.int(4) === 0 ? valid : mutate(g, valid);
    const where = () => `seed ${seed} case ${i} ${dialect} ${msg.type}: ${hex(frame)}`;
    let out: Msg;
    try {
      out = decode(frame, g.pick(DIALECTS) === dialect || frame === valid ? dialect : g.pick(DIALECTS));
    } catch (err) {
      if (!(err instanceof CodecError)) throw new Error(`decode threw a non-CodecError (${String(err)}) at ${where()}`, { cause: err });
      if (frame === valid) throw new Error(`an intact frame was rejected (${err.reason}) at ${where()}`, { cause: err });
      rejected++;
      continue;
    }
    decoded++;
    let again: Buffer;
    try {
      again = encode(out);
    } catch (err) {
      throw new Error(`re-encoding a decoded frame failed (${String(err)}) at ${where()}`, { cause: err });
    }
    if (hex(again) !== hex(frame)) throw new Error(`decode->encode changed the bytes to ${hex(again)} at ${where()}`);
  }
  return { cases, decoded, rejected, ms: Math.round(performance.now() - started) };
}

const invoked = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  const cases = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? Date.now() % 0x7fffffff);
  const r = runFuzz(cases, seed);
  console.log(`fuzz seed ${seed}: ${r.cases} cases, ${r.decoded} decoded, ${r.rejected} rejected, ${r.ms} ms`);
}
