// How the 9P client reads a plain TCP socket: into pooled buffers (lent-buffers.ts), each one
// filled front to back, reads landing right behind the bytes of the last one. A frame that
// arrives over several reads then lies in one piece of one buffer and the splitter returns it as
// a view (FrameSplitter joins views that touch), where a buffer reused from its start would have
// had each such frame copied into a fresh buffer of its own (a 64 KiB allocation and a copy per
// Rread: with 64 KiB replies arriving in 128 KiB reads that was most of them, and the largest
// share of a RemoteTree relay's CPU on a bulk read after the socket calls themselves).
//
// A buffer is read into until it has no room left for the frame in progress (or for a useful
// read, MIN_READ, between frames); the held bytes of that frame are then copied to the start of
// the next buffer, and the old one is retired: it goes back to the pool once every view lent out
// of it came back. A buffer nothing was handed out of is read into again from its start. A frame
// larger than a buffer (a 1 MiB Rread) is assembled in a buffer of its own, as before, but the
// reads after its first go straight into that buffer (FrameSplitter.assemblyRoom): no copy.

import type { OnReadOpts } from 'node:net';
import type { FrameSplitter } from '../codec/index.ts';
import type { LentBuffers } from './lent-buffers.ts';

/** Below this much room and no frame in progress, the next read goes into a fresh buffer. */
export const MIN_READ = 16 * 1024;

export class FrameReader {
  private buf: Buffer;
  /** Where the next read lands in `buf`. */
  private pos = 0;
  /** A view of `buf` went out (a reply's data): bytes before `pos` may not be overwritten. */
  private handedOut = false;
  /** Buffers moved to because the frame in progress had no room (tests, stats). */
  moves = 0;

  /**
   * `onChunk` handles the bytes of one read (pushing them through `splitter` without detaching)
   * and returns true when a view of them was handed out.
   */
  constructor(private readonly lent: LentBuffers, private readonly splitter: FrameSplitter, private readonly onChunk: (chunk: Buffer) => boolean) {
    this.buf = lent.take();
  }

  /** The `onread` option for net.connect / new net.Socket. */
  onread(): OnReadOpts {
    return {
      buffer: () => this.next(),
      callback: (n, b) => {
        this.read((b as Buffer).subarray(0, n));
        return true;
      },
    };
  }

  /** Where the next read goes: the rest of a frame assembled apart, or behind what was read. */
  next(): Buffer {
    const room = this.splitter.assemblyRoom();
    if (room && room.length > 0) return Buffer.from(room.buffer, room.byteOffset, room.length);
    return this.buf.subarray(this.pos);
  }

  /** Bytes `chunk` (a view of next(), as filled by a read) arrived. */
  read(chunk: Buffer): void {
    if (chunk.buffer !== this.buf.buffer) { // into a frame assembled apart: ours to forget
      this.onChunk(chunk);
      this.plan();
      return;
    }
    this.pos += chunk.length;
    if (this.onChunk(chunk)) this.handedOut = true;
    this.plan();
  }

  /** Chooses where the next read lands. */
  private plan(): void {
    const s = this.splitter;
    let held = s.assembling ? 0 : s.buffered;
    const need = s.pendingSize;
    if (held > 0 && need > this.buf.length) {
      s.detach(this.buf.buffer); // bigger than any buffer: assembled in one of its own from here on
      held = 0;
    }
    const room = this.buf.length - this.pos;
    if (held === 0) {
      if (!this.handedOut) this.pos = 0;
      else if (room < MIN_READ) this.move();
      return;
    }
    // The frame in progress lies at [pos - held, pos): read its rest right behind it if it fits.
    if (need >= 0 ? need - held <= room : room >= MIN_READ) return;
    this.moves++;
    this.move();
  }

  /** Reads go into a fresh buffer from now on, starting with the held bytes of the frame in progress. */
  private move(): void {
    const old = this.buf;
    this.buf = this.lent.take();
    this.pos = this.splitter.relocate(this.buf);
    this.handedOut = false;
    this.lent.retire(old);
  }
}
