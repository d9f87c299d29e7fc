// Reusable fixed-size buffers for file data on its way to a socket: the fileserver's streamed
// files (modules/fileserver/respond.ts) and the 9P export's read-ahead blocks
// (fs/tree/export/handle.ts). A fresh buffer of a few hundred KiB is a fresh mapping: the kernel
// faults in and zeroes every page before the read fills it, then unmaps it when the GC frees it,
// and that costs as much as the copies themselves. A buffer goes back only once nothing refers to
// its bytes: from the write callback of the socket write that sent them (the kernel has them by
// then). One whose write never completes (client gone) is simply left to the GC.
// The pool is bounded (maxBytes) and halves when unused for TRIM_MS.

import { skewedBuffer } from './skewed-buffer.ts';

const TRIM_MS = 10_000;

export class ChunkPool {
  private readonly free: Buffer[] = [];
  private usedSinceTrim = false;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly size: number, private readonly maxBytes = 32 * 1024 * 1024) {
    this.timer = setInterval(() => this.trim(), TRIM_MS);
    this.timer.unref();
  }

  /** A buffer of `size` bytes (contents undefined), skewed in its page (core/sdk/skewed-buffer.ts). */
  take(): Buffer {
    this.usedSinceTrim = true;
    return this.free.pop() ?? skewedBuffer(this.size);
  }

  /** Returns a buffer taken from this pool, once nothing refers to its bytes any more. */
  give(b: Buffer): void {
    if (b.length === this.size && (this.free.length + 1) * this.size <= this.maxBytes) this.free.push(b);
  }

  /** Buffers held for reuse (tests, stats). */
  get held(): number { return this.free.length; }

  /** Halves the pool when it went unused since the last trim. */
  private trim(): void {
    if (!this.usedSinceTrim) this.free.length = Math.floor(this.free.length / 2);
    this.usedSinceTrim = false;
  }

  close(): void {
    clearInterval(this.timer);
    this.free.length = 0;
  }
}
