// The 9P client's read buffers, recycled. The client reads replies into one buffer and hands
// Rread data out as views of it, so a read that carried an Rread retires the buffer and the
// next read needs another. A fresh 128 KiB buffer per read is a fresh mapping (page faults, then
// an munmap and GC pressure from external memory): through a styx-client graft
// (fs/tree/remote/handle.ts) that was a quarter of the relay's CPU on a bulk read.
//
// So buffers come from a pool, and a caller that reads with Client.readLent promises to give
// the data back (Client.recycle) once nothing refers to it. A retired buffer goes back to the
// pool when every view lent from it came back, unless some view went to a caller who made no
// such promise (a plain read, a directory read, a reply nobody waited for): then it is simply
// left to the GC, as before. A view recycled twice counts once. The views tracked are bounded:
// past MAX_TRACKED buffers, the oldest retired ones are forgotten (left to the GC), so a caller
// that never recycles costs nothing but the pooling.

import { ChunkPool } from '../../base/bytes/chunk-pool.ts';
import type { ReadBufferSource } from '../../base/bytes/reused-read.ts';

/** Buffers tracked per client at most (retired ones with views out, and the current one). */
const MAX_TRACKED = 64;

interface Entry {
  buf: Buffer;
  /** Views lent out and not recycled yet. */
  views: Set<Uint8Array>;
  /** A view went to someone who will not recycle it: never back to the pool. */
  disowned: boolean;
  /** No longer read into. */
  retired: boolean;
}

export class LentBuffers implements ReadBufferSource {
  private readonly known = new Map<ArrayBufferLike, Entry>();

  constructor(private readonly pool: ChunkPool) {}

  take(): Buffer {
    const buf = this.pool.take();
    this.known.set(buf.buffer, { buf, views: new Set(), disowned: false, retired: false });
    if (this.known.size > MAX_TRACKED) this.forgetOldest();
    return buf;
  }

  retire(buf: Buffer): void {
    const e = this.known.get(buf.buffer);
    if (!e) return;
    e.retired = true;
    this.settle(e);
  }

  /** `view` (of a buffer this source gave out) goes to a caller who will recycle it. */
  lend(view: Uint8Array): void {
    this.known.get(view.buffer)?.views.add(view);
  }

  /** A view of `memory` went to a caller who will not recycle it. */
  disown(memory: ArrayBufferLike): void {
    const e = this.known.get(memory);
    if (e) e.disowned = true;
  }

  /** A lent view is no longer referred to. Anything else (another buffer, a second call) is ignored. */
  recycle(view: Uint8Array): void {
    const e = this.known.get(view.buffer);
    if (e && e.views.delete(view)) this.settle(e);
  }

  /** Buffers tracked now (tests). */
  get tracked(): number { return this.known.size; }

  private settle(e: Entry): void {
    if (!e.retired) return;
    if (e.disowned) {
      this.known.delete(e.buf.buffer);
    } else if (e.views.size === 0) {
      this.known.delete(e.buf.buffer);
      this.pool.give(e.buf);
    }
  }

  private forgetOldest(): void {
    for (const [memory, e] of this.known) {
      if (this.known.size <= MAX_TRACKED) return;
      if (e.retired) this.known.delete(memory);
    }
  }
}
