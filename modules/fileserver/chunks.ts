// Reusable buffers for files streamed from disk (respond.ts). A fresh 512 KiB Buffer per read is
// a fresh mmap: the kernel faults in and zeroes every page before pread fills it, then unmaps it
// when the GC frees it, and that costs as much as the copies themselves. A buffer goes back to
// the pool only from the write callback of the response write that sent it (the kernel has the
// bytes by then); one whose write never completes (client gone) is simply left to the GC.
// The pool is bounded (POOL_BYTES) and shrinks when unused for a while.

const POOL_BYTES = 32 * 1024 * 1024;
const TRIM_MS = 10_000;

export class ChunkPool {
  private readonly free: Buffer[] = [];
  private usedSinceTrim = false;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly size: number) {
    this.timer = setInterval(() => this.trim(), TRIM_MS);
    this.timer.unref();
  }

  /** A buffer of `size` bytes (contents undefined). */
  take(): Buffer {
    this.usedSinceTrim = true;
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  /** Returns a buffer taken from this pool, once nothing refers to its bytes any more. */
  give(b: Buffer): void {
    if (b.length === this.size && (this.free.length + 1) * this.size <= POOL_BYTES) this.free.push(b);
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
