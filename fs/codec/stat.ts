// The 9P2000 (and .u) stat structure: used by Rstat/Twstat and, packed back to back, as the
// data of a 9P2000 directory read. A directory Rread must hold whole entries only, so packStats
// reports how many fit in a count.

import { CodecError, Reader, Writer, stringBytes } from './buffer.ts';
import type { Dialect, Stat } from './messages.ts';

const FIXED = 2 + 2 + 4 + 13 + 4 + 4 + 4 + 8; // size type dev qid mode atime mtime length
const FIXED_U = 4 + 4 + 4; // n_uid n_gid n_muid

/** Bytes the entry takes on the wire, including its own size[2]. */
export function statSize(stat: Stat): number {
  let n = FIXED + 8; // four string length prefixes
  n += stringBytes(stat.name, 'stat.name').length + stringBytes(stat.uid, 'stat.uid').length;
  n += stringBytes(stat.gid, 'stat.gid').length + stringBytes(stat.muid, 'stat.muid').length;
  if (stat.dotu) n += 2 + stringBytes(stat.dotu.extension, 'stat.extension').length + FIXED_U;
  return n;
}

export function writeStat(w: Writer, stat: Stat): void {
  if (stat === null || typeof stat !== 'object') throw new CodecError('encode', 'stat: not an object');
  const start = w.length;
  w.u16(0, 'stat.size'); // patched below, once the strings' byte lengths are known
  w.u16(stat.type, 'stat.type');
  w.u32(stat.dev, 'stat.dev');
  w.qid(stat.qid, 'stat.qid');
  w.u32(stat.mode, 'stat.mode');
  w.u32(stat.atime, 'stat.atime');
  w.u32(stat.mtime, 'stat.mtime');
  w.u64(stat.length, 'stat.length');
  w.str(stat.name, 'stat.name');
  w.str(stat.uid, 'stat.uid');
  w.str(stat.gid, 'stat.gid');
  w.str(stat.muid, 'stat.muid');
  if (stat.dotu) {
    w.str(stat.dotu.extension, 'stat.extension');
    w.u32(stat.dotu.nUid, 'stat.n_uid');
    w.u32(stat.dotu.nGid, 'stat.n_gid');
    w.u32(stat.dotu.nMuid, 'stat.n_muid');
  }
  w.patchU16(start, w.length - start - 2, 'stat.size');
}

/** Reads one entry: size[2] then exactly size bytes of fields (the .u tail only in .u). */
export function readStat(r: Reader, dialect: Dialect): Stat {
  const size = r.u16('stat.size');
  const s = r.sub(size, 'stat');
  const stat: Stat = {
    type: s.u16('stat.type'),
    dev: s.u32('stat.dev'),
    qid: s.qid('stat.qid'),
    mode: s.u32('stat.mode'),
    atime: s.u32('stat.atime'),
    mtime: s.u32('stat.mtime'),
    length: s.u64('stat.length'),
    name: s.str('stat.name'),
    uid: s.str('stat.uid'),
    gid: s.str('stat.gid'),
    muid: s.str('stat.muid'),
  };
  if (dialect === '9P2000.u') {
    stat.dotu = {
      extension: s.str('stat.extension'),
      nUid: s.u32('stat.n_uid'),
      nGid: s.u32('stat.n_gid'),
      nMuid: s.u32('stat.n_muid'),
    };
  }
  s.end('stat');
  return stat;
}

export function encodeStat(stat: Stat): Uint8Array {
  const w = new Writer(statSize(stat));
  writeStat(w, stat);
  return w.finish();
}

/** Decodes the data of a 9P2000 directory Rread: zero or more whole stat entries. */
export function decodeStats(data: Uint8Array, dialect: Dialect): Stat[] {
  const r = new Reader(data);
  r.context = { label: 'dirread' };
  const out: Stat[] = [];
  while (r.remaining > 0) out.push(readStat(r, dialect));
  return out;
}

/**
 * Packs whole entries, in order, into at most `max` bytes (the Tread count). `count` is how many
 * entries fit; a server whose first entry does not fit must answer an error, not zero bytes
 * (zero bytes means end of directory).
 */
export function packStats(stats: readonly Stat[], max: number): { data: Uint8Array; count: number } {
  const w = new Writer(Math.min(Math.max(max, 0), 8192));
  let count = 0;
  for (const st of stats) {
    if (w.length + statSize(st) > max) break;
    writeStat(w, st);
    count++;
  }
  return { data: w.finish(), count };
}

/**
 * A stat whose every field means "don't touch" in Twstat (~0 integers, empty strings); set only
 * what should change. For .u the tail is included with the same convention.
 */
export function nullStat(dialect: Dialect = '9P2000'): Stat {
  const stat: Stat = {
    type: 0xffff, dev: 0xffffffff,
    qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn },
    mode: 0xffffffff, atime: 0xffffffff, mtime: 0xffffffff, length: 0xffffffffffffffffn,
    name: '', uid: '', gid: '', muid: '',
  };
  if (dialect === '9P2000.u') stat.dotu = { extension: '', nUid: 0xffffffff, nGid: 0xffffffff, nMuid: 0xffffffff };
  return stat;
}
