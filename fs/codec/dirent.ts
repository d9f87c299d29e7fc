// 9P2000.L directory entries, the data of Rreaddir: qid[13] offset[8] type[1] name[s] back to
// back. Each entry's offset is the cookie the client sends in its next Treaddir.

import { Reader, Writer, stringBytes } from './buffer.ts';
import type { Dirent } from './messages.ts';

const FIXED = 13 + 8 + 1 + 2;

/** Bytes the entry takes on the wire. */
export function direntSize(d: Dirent): number {
  return FIXED + stringBytes(d.name, 'dirent.name').length;
}

export function writeDirent(w: Writer, d: Dirent): void {
  w.qid(d.qid, 'dirent.qid');
  w.u64(d.offset, 'dirent.offset');
  w.u8(d.type, 'dirent.type');
  w.str(d.name, 'dirent.name');
}

export function readDirent(r: Reader): Dirent {
  return {
    qid: r.qid('dirent.qid'),
    offset: r.u64('dirent.offset'),
    type: r.u8('dirent.type'),
    name: r.str('dirent.name'),
  };
}

export function encodeDirents(entries: readonly Dirent[]): Uint8Array {
  const w = new Writer();
  for (const d of entries) writeDirent(w, d);
  return w.finish();
}

/** Decodes Rreaddir data; a partial trailing entry is a CodecError. */
export function decodeDirents(data: Uint8Array): Dirent[] {
  const r = new Reader(data);
  r.context = { label: 'readdir' };
  const out: Dirent[] = [];
  while (r.remaining > 0) out.push(readDirent(r));
  return out;
}

/**
 * Packs whole entries, in order, into at most `max` bytes (the Treaddir count). `count` is how
 * many fit; an empty result tells the client the directory is exhausted, so a server whose first
 * remaining entry does not fit should answer an error (EINVAL/EMSGSIZE), not an empty reply.
 */
export function packDirents(entries: readonly Dirent[], max: number): { data: Uint8Array; count: number } {
  const w = new Writer(Math.min(Math.max(max, 0), 8192));
  let count = 0;
  for (const d of entries) {
    if (w.length + direntSize(d) > max) break;
    writeDirent(w, d);
    count++;
  }
  return { data: w.finish(), count };
}
