// An open local file as a 9P Handle: positional reads and writes on a real fd (fs.promises
// FileHandle), fsync, and close when the fid is clunked. The fd was opened with O_NOFOLLOW and
// checked against the node's inode (fs/tree/export/confine.ts), so it is the file the fid walked to.

import type { FileHandle } from 'node:fs/promises';
import type { Handle, OpenMode } from '../types.ts';
import { sys, X } from './errors.ts';

const EMPTY = new Uint8Array(0);
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

export interface WriteSink {
  /** Called after each successful write (qid.version bookkeeping). */
  wrote(): void;
}

/**
 * `appendByHand`: the fd lacks O_APPEND (it is the one the create made), so appending writes go
 * to the current end of file found by fstat.
 */
export function fileHandle(fh: FileHandle, mode: OpenMode, sink: WriteSink, appendByHand: boolean): Handle {
  let closed: Promise<void> | undefined;
  const h: Handle = {
    close: () => (closed ??= fh.close()),
    fsync: () => sys(fh.sync()),
  };
  if (mode.read) {
    h.read = async (offset, count) => {
      if (offset >= MAX || count <= 0) return EMPTY;
      const buf = Buffer.allocUnsafe(count);
      const { bytesRead } = await sys(fh.read(buf, 0, count, Number(offset)));
      return bytesRead === 0 ? EMPTY : buf.subarray(0, bytesRead);
    };
  }
  if (mode.write) {
    h.write = async (offset, data) => {
      let at: number | null = mode.append ? null : Number(offset);
      if (mode.append && appendByHand) at = Number((await sys(fh.stat({ bigint: true }))).size);
      if (at !== null && (offset >= MAX || at + data.length > Number.MAX_SAFE_INTEGER)) throw X.tooBig;
      let done = 0;
      try {
        // A regular file takes a whole write unless the disk fills up: then report what was
        // written, and the client's next write gets the error.
        while (done < data.length) {
          const { bytesWritten } = await sys(fh.write(data, done, data.length - done, at === null ? null : at + done));
          if (bytesWritten === 0) break;
          done += bytesWritten;
        }
      } catch (err) {
        if (done === 0) throw err;
      } finally {
        sink.wrote();
      }
      return done;
    };
  }
  return h;
}
