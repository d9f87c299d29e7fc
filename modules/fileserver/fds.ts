// A cache of open read-only descriptors for store files (immutable, so a descriptor stays
// valid): streams share one per file with positional reads, and a file served again skips
// open/stat. At most `max` are kept; the least recently used idle ones are closed first, and a
// busy one closes when its last user releases it.
import { close, open } from 'node:fs';
import type { FileRef } from './entry.ts';

interface Slot { fd: number | undefined; opening: Promise<number> | undefined; users: number; dropped: boolean }

export class FdCache {
  private readonly slots = new Map<string, Slot>();
  constructor(private readonly max: number) {}

  get size(): number { return this.slots.size; }

  ref(path: string): FileRef {
    return { path, acquire: () => this.acquire(path) };
  }

  private async acquire(path: string): Promise<{ fd: number; release(): void }> {
    let slot = this.slots.get(path);
    if (slot) {
      this.slots.delete(path); // most recently used last
      this.slots.set(path, slot);
    } else {
      slot = { fd: undefined, opening: undefined, users: 0, dropped: false };
      this.slots.set(path, slot);
      this.trim();
    }
    const s = slot;
    s.users++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      s.users--;
      if (s.dropped && s.users === 0) closeSlot(s);
    };
    if (s.fd !== undefined) return { fd: s.fd, release };
    s.opening ??= new Promise<number>((resolve, reject) => {
      open(path, 'r', (err, fd) => {
        s.opening = undefined;
        if (err) {
          if (this.slots.get(path) === s) this.slots.delete(path);
          reject(err);
          return;
        }
        s.fd = fd;
        resolve(fd);
      });
    });
    try {
      return { fd: await s.opening, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  private trim(): void {
    if (this.slots.size <= this.max) return;
    for (const [path, s] of this.slots) {
      if (this.slots.size <= this.max) break;
      if (s.users > 0) continue;
      this.slots.delete(path);
      s.dropped = true;
      closeSlot(s);
    }
  }

  /** Closes every idle descriptor (and the busy ones as they are released). */
  closeAll(): void {
    for (const s of this.slots.values()) {
      s.dropped = true;
      if (s.users === 0) closeSlot(s);
    }
    this.slots.clear();
  }
}

function closeSlot(s: Slot): void {
  if (s.fd !== undefined) {
    const fd = s.fd;
    s.fd = undefined;
    close(fd, () => undefined);
  }
}
