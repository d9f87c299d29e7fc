// Open append handles of log files, at most `max` at once and none idle for long: a node with
// 1,000 instances must not hold 1,000 descriptors. Least recently used handles are closed when
// over the cap; a sweep closes those unused for `idleMs`; a handle in use is never closed.
import { open, type FileHandle } from 'node:fs/promises';

interface Entry {
  fh: FileHandle;
  usedAt: number;
  busy: boolean;
}

export class FdCache {
  /** Insertion order is recency: a used entry is moved to the end. */
  private readonly handles = new Map<string, Entry>();
  private sweep: NodeJS.Timeout | null = null;

  constructor(private readonly max = 64, private readonly idleMs = 5_000) {}

  /** Descriptors open right now. */
  get size(): number { return this.handles.size; }

  /** Runs `fn` with an append handle of `path` (opened, and the directory's file created, if need be). */
  async use<T>(path: string, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let e = this.handles.get(path);
    if (e) this.handles.delete(path);
    else {
      await this.makeRoom();
      e = { fh: await open(path, 'a'), usedAt: 0, busy: false };
    }
    this.handles.set(path, e);
    this.startSweep();
    e.busy = true;
    try {
      return await fn(e.fh);
    } finally {
      e.busy = false;
      e.usedAt = Date.now();
    }
  }

  /** Closes the handle of `path` if open (before the file is renamed away). */
  async close(path: string): Promise<void> {
    const e = this.handles.get(path);
    if (!e) return;
    this.handles.delete(path);
    await e.fh.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.allSettled(all.map((e) => e.fh.close()));
  }

  private async makeRoom(): Promise<void> {
    while (this.handles.size >= this.max) {
      const oldest = [...this.handles].find(([, e]) => !e.busy)?.[0];
      if (oldest === undefined) return;
      await this.close(oldest);
    }
  }

  private startSweep(): void {
    if (this.sweep) return;
    this.sweep = setInterval(() => void this.closeIdle(), Math.max(50, this.idleMs / 2));
    this.sweep.unref();
  }

  private async closeIdle(): Promise<void> {
    const cutoff = Date.now() - this.idleMs;
    for (const [path, e] of [...this.handles]) if (!e.busy && e.usedAt < cutoff) await this.close(path);
    if (this.handles.size === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
  }
}
