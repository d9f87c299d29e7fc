// Confinement of the local export: names are single components, and every file operation is
// done relative to a directory we have verified, so no path the kernel resolves for us can leave
// the export root. The rules and why are in fs/tree/export.ts's header; this file holds the
// mechanism.
//
// Node has no openat(2). On Linux, `/proc/self/fd/N/name` is its exact equivalent: the kernel
// jumps to the directory open as fd N (whatever its path is now) and resolves only `name` from
// there. So a directory is opened by its path with O_PATH|O_DIRECTORY|O_NOFOLLOW, checked (fstat:
// same dev/ino as when we met it inside the root; readlink of the fd: still under the root), and
// the operation then names `/proc/self/fd/N/name` with a call that does not follow a final
// symlink (lstat, O_NOFOLLOW open, unlink, rename, mkdir, lutimes...). Verified fds of recent
// directories stay open and are re-checked with one readlink per operation (Jail.dir).
// Without /proc (not Linux) the fallback checks realpath(dir) === dir and lstat identity before
// using the plain path: the same rules, but with a race window between check and use.

import { Buffer } from 'node:buffer';
import { close as closeCb, constants as K, existsSync, fstat as fstatCb, open as openCb, readlinkSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { E } from '../../errors.ts';
import { codeOf, fsError, X } from './errors.ts';

/** Longest name (bytes) a Linux file system takes. */
export const NAME_MAX = 255;
/** Linux O_PATH: names a file without opening it (no read permission needed, fstat works). */
const O_PATH = process.platform === 'linux' ? 0o10000000 : K.O_RDONLY;
const PROC = process.platform === 'linux' && existsSync('/proc/self/fd');

/** Refuses anything but one plain path component: "/", NUL, "", ".", ".." and over-long names. */
export function checkName(name: string): void {
  if (name.includes('\0')) throw X.nulInName;
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw E.badName;
  if (Buffer.byteLength(name, 'utf8') > NAME_MAX) throw X.nameTooLong;
}

/** What identifies a file while it exists: the inode we met inside the root. */
/**
 * Which file an entry is. The birth time is part of it because ext4 hands a just-freed inode
 * number to the next file created: an unlink + create must not look like the same file.
 */
export interface Ident { readonly dev: bigint; readonly ino: bigint; readonly birthtimeNs?: bigint }

export const same = (a: Ident, b: Ident): boolean =>
  a.dev === b.dev && a.ino === b.ino && (a.birthtimeNs === undefined || b.birthtimeNs === undefined || a.birthtimeNs === b.birthtimeNs);
/** `id` as a map key (callers that use it often keep it: two BigInt-to-string conversions). */
export const identKey = (id: Ident): string => `${id.dev}:${id.ino}`;

/**
 * Thrown by Jail.dir when the directory itself is no longer what we met (ESTALE); distinct from
 * E.removed, which `fn` may throw about an entry, so the caller knows which node is stale.
 */
export const STALE_DIR = E.removed.withText(E.removed.ename);

/** An open/lstat of the entry failed: gone or replaced is `stale`, anything else maps as usual. */
function goneAs(stale: Error): (err: unknown) => never {
  return (err) => {
    const code = codeOf(err);
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') throw stale;
    throw fsError(err);
  };
}
// Annotated so that TS knows a call never returns.
const dirGone: (err: unknown) => never = goneAs(STALE_DIR);
const gone: (err: unknown) => never = goneAs(E.removed);

/** A verified directory fd kept open for later operations (see Jail.dir). Raw fds, not
 * FileHandles: a tree dropped without dispose() closes them from the registry below, silently. */
interface Held { fd: number; base: string; users: number; evicted: boolean }

const openFd = (path: string, flags: number): Promise<number> =>
  new Promise((resolve, reject) => openCb(path, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
const fstatFd = (fd: number): Promise<BigIntStats> =>
  new Promise((resolve, reject) => fstatCb(fd, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
const closeFd = (fd: number): void => closeCb(fd, () => undefined);
const dropHeld = new FinalizationRegistry<Map<string, Held>>((held) => {
  for (const h of held.values()) closeFd(h.fd);
});

/**
 * Where the directory open as fd N is now: readlink of /proc/self/fd/N, made synchronously. The
 * kernel builds that text from its dentry cache (d_path) without any I/O, so it never blocks on
 * a disk (nor calls into the file system, even a remote one). Through the thread pool it was a
 * second round trip before every lookup and getattr, on top of the lstat's: readlink was 8.5% of
 * the server's samples in bench/export.ts's stat walk, and making it synchronous alone moved that
 * walk from ~5 000 to ~8 500 entries/s in a noisy side run (bench/export.md). undefined when
 * the link cannot be read (the fd is ours and open, so in practice never).
 */
function linkOf(magic: string): string | undefined {
  try {
    return readlinkSync(magic);
  } catch {
    return undefined;
  }
}

/** Directory fds kept open per export (each costs one fd). */
const HELD_MAX = 64;

export class Jail {
  /** Recently verified directories by dev:ino, least recently used first. */
  private readonly held = new Map<string, Held>();
  private closed = false;

  /** `root` must be a realpath (no symlinks in it). */
  constructor(readonly root: string) {
    dropHeld.register(this, this.held);
  }

  inside(p: string): boolean {
    return this.root === '/' || p === this.root || p.startsWith(`${this.root}/`);
  }

  /**
   * Runs `fn` with `base`, a path that names exactly the directory `id` (believed to be at
   * `full`), and a way to fstat it. Throws STALE_DIR when that directory is gone, was replaced
   * (by another directory or by a symlink, anywhere on the path) or now lies outside the root.
   *
   * Fast path: a directory verified before keeps its O_PATH fd (up to HELD_MAX of them); the fd
   * pins the inode, and readlink of its magic link equal to `full` shows it is still at that path
   * under the root: one syscall instead of four (open, fstat, readlink, close). Anything else
   * (moved, deleted, renamed behind our back) drops the fd and takes the full check.
   */
  async dir<T>(full: string, id: Ident, fn: (base: string, stat: () => Promise<BigIntStats>) => Promise<T>, key = identKey(id)): Promise<T> {
    if (!PROC) return this.dirByPath(full, id, fn);
    const h = this.held.get(key);
    if (h) {
      h.users++;
      let fresh = false;
      try {
        fresh = linkOf(h.base) === full;
        if (fresh) {
          this.held.delete(key);
          if (!h.evicted) this.held.set(key, h);
          return await fn(h.base, () => fstatFd(h.fd));
        }
      } finally {
        this.release(h);
        if (!fresh) this.evict(key, h);
      }
    }
    let fd: number;
    try {
      fd = await openFd(full, O_PATH | K.O_DIRECTORY | K.O_NOFOLLOW);
    } catch (err) {
      dirGone(err);
    }
    const mine: Held = { fd, base: `/proc/self/fd/${fd}`, users: 1, evicted: true };
    try {
      const st = await fstatFd(fd);
      if (!st.isDirectory() || !same(st, id)) throw STALE_DIR;
      const where = linkOf(mine.base);
      if (where === undefined || !this.inside(where)) throw STALE_DIR;
      if (!this.closed && !this.held.has(key)) this.keep(key, mine);
      return await fn(mine.base, async () => st);
    } finally {
      this.release(mine);
    }
  }

  /**
   * dir()'s fast path alone, for an operation that cannot block (an lstat of a hot entry on a
   * local disk, an fstat of the held fd): when the directory's fd is held and its magic link
   * still reads `full`, runs fn(base, fd) now and returns its result; otherwise runs nothing and
   * returns undefined, and the caller takes dir(), which re-verifies (and drops a stale fd).
   */
  dirNow<T>(full: string, key: string, fn: (base: string, fd: number) => T): { value: T } | undefined {
    if (!PROC) return undefined;
    const h = this.held.get(key);
    if (!h || linkOf(h.base) !== full) return undefined;
    h.users++;
    try {
      this.held.delete(key);
      if (!h.evicted) this.held.set(key, h);
      return { value: fn(h.base, h.fd) };
    } finally {
      this.release(h);
    }
  }

  private keep(key: string, h: Held): void {
    h.evicted = false;
    this.held.set(key, h);
    if (this.held.size > HELD_MAX) {
      const [oldKey, old] = this.held.entries().next().value as [string, Held];
      this.evict(oldKey, old);
    }
  }

  private evict(key: string, h: Held): void {
    if (this.held.get(key) === h) this.held.delete(key);
    if (h.evicted) return;
    h.evicted = true;
    if (h.users === 0) closeFd(h.fd);
  }

  private release(h: Held): void {
    h.users--;
    if (h.users === 0 && h.evicted) closeFd(h.fd);
  }

  /** Closes the directory fds kept open; the export keeps working (each operation then verifies afresh). */
  close(): void {
    this.closed = true;
    for (const [key, h] of [...this.held]) this.evict(key, h);
  }

  private async dirByPath<T>(full: string, id: Ident, fn: (base: string, stat: () => Promise<BigIntStats>) => Promise<T>): Promise<T> {
    let st: BigIntStats;
    try {
      if (await realpath(full) !== full) throw STALE_DIR;
      st = await lstat(full, { bigint: true });
    } catch (err) {
      if (err === STALE_DIR) throw err;
      dirGone(err);
    }
    if (!st.isDirectory() || !same(st, id)) throw STALE_DIR;
    return fn(full, async () => lstat(full, { bigint: true }));
  }

  /**
   * Runs `fn` with a path naming the non-symlink entry `base`/`name` itself, for the calls that
   * follow a final symlink and have no l-variant in Node (chmod): on Linux the magic link of an
   * O_PATH|O_NOFOLLOW fd checked to be `id` and not a symlink.
   */
  async entry<T>(base: string, name: string, id: Ident, fn: (target: string) => Promise<T>): Promise<T> {
    const path = `${base}/${name}`;
    if (!PROC) {
      const st = await lstat(path, { bigint: true }).catch(gone);
      if (!same(st, id)) throw E.removed;
      if (st.isSymbolicLink()) throw X.symlink;
      return fn(path);
    }
    let fh: FileHandle;
    try {
      fh = await open(path, O_PATH | K.O_NOFOLLOW);
    } catch (err) {
      gone(err);
    }
    try {
      const st = await fh.stat({ bigint: true });
      if (!same(st, id)) throw E.removed;
      if (st.isSymbolicLink()) throw X.symlink;
      return await fn(`/proc/self/fd/${fh.fd}`);
    } finally {
      await fh.close();
    }
  }
}

/** Flags for opening a file under a checked directory: never through a final symlink, never blocking on a FIFO. */
export const SAFE_OPEN = K.O_NOFOLLOW | K.O_NONBLOCK;
