// A local directory as a 9P tree (styx-provider's `export` server): real files with real modes,
// sizes, times and owners; reads and writes on real fds; create, mkdir, remove, rename, truncate,
// chmod/chown/utimes, symlink/readlink, hard links, fsync, statfs. Read-only unless
// `writable: true` (then every change answers EROFS "read-only file system").
//
// Confinement — nothing outside the root can be read, written, created or even stat'ed:
//  1. Names are single components. The session refuses "", "/"-names and handles ".." (never past
//     the attach root); we check again (a Node may be called by other code): "/", "", ".", ".."
//     are EINVAL, NUL is EINVAL, more than 255 bytes is ENAMETOOLONG. We never join anything else.
//  2. Symlinks are never followed. A symlink is a node of type QTSYMLINK: readlink returns its text
//     (which may say "../../etc/passwd" or "/etc": it is only text), but it is not a directory, so
//     the session will not walk through it, and open/truncate/chmod on it refuse (ELOOP / EOPNOTSUPP).
//  3. Every operation is done relative to a directory we verified at that moment (export/confine.ts):
//     the directory is opened by path with O_NOFOLLOW, and its fd must be the inode (dev/ino) we met
//     inside the root and must still lie under the root (readlink of /proc/self/fd/N). The call then
//     names /proc/self/fd/N/name — Linux's openat() for Node, which has none — with a call that
//     does not follow a final symlink (lstat, open O_NOFOLLOW|O_NONBLOCK, mkdir, unlink, rmdir,
//     rename, symlink, link, readlink, lchown, lutimes; chmod through an O_PATH|O_NOFOLLOW fd). So
//     a directory swapped for a symlink (or anything else) between walk and use fails with ESTALE,
//     whichever component was swapped, and the race left is only between entries of one directory
//     that is inside the root. (Up to 64 verified directory fds stay open, re-checked by one
//     readlink per use; dispose() closes them when the export is retired.)
//  4. Opened fds are checked again: fstat of the fd must be the node's inode and a regular file, or
//     the fd is closed unused (a file swapped between walk and open). O_TRUNC is applied only after
//     that check (ftruncate), so a swapped file is never truncated. FIFOs, sockets and devices are
//     not opened at all (EOPNOTSUPP), so nothing can block or reach a device.
//  5. Creation (create, mkdir, symlink, link, rename's target) happens in a verified directory of
//     the export and never through a symlink: O_CREAT|O_EXCL refuses an existing symlink, and a
//     symlinked "directory" is not a directory node, so the session refuses to create in it.
//  6. Hard links: the target must be a node of this tree (else EXDEV), is re-checked by lstat before
//     link(2) (which does not follow symlinks on Linux: linking a symlink links the symlink), and the
//     new entry is checked to be that inode after. We cannot link anything from outside in.
//  7. rename and link take both directories verified; moving out of the export is impossible since
//     both ends are nodes of this tree; a symlink at the target name is replaced, never written through.
// Error texts are constants (export/errors.ts): a system message would show host paths.
// Not confined: what a local process does with symlinks a client created (their text may point
// anywhere — local programs following them is their business, as with diod). All clients act as
// the server's own user (no per-user setfsuid as diod does as root): new files belong to it.
// Without /proc (not Linux) the checks of rule 3 are made by path, with a race window between
// check and use. Paths deeper than PATH_MAX (4096 bytes) fail with ENAMETOOLONG.
//
// Nodes are path-based (a parent pointer and a name) with their inode recorded. One Node per
// directory entry is kept while anything references it (WeakRef), so fids share it and a rename
// through us moves it (and, through the parent pointers, everything under it). A node whose entry
// disappears or turns into another inode is marked removed (the session answers ESTALE).
//
// Speed (bench/export.ts, bench/export.md): entries stat'ed within the last second are lstat'ed
// synchronously (HOT_MS), a lookup right after a listing answers from it (LISTED_MS), and open
// files read sequentially are read ahead (export/handle.ts). None of them names anything on the
// disk other than as described above.

import { constants as K, fstatSync, lstatSync, realpathSync, statfsSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import {
  chmod, chown, lchown, link, lstat, lutimes, mkdir, open, readdir, readlink, rename, rmdir, stat, statfs, symlink,
  unlink, utimes,
} from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Qid } from '../codec/messages.ts';
import { E } from '../errors.ts';
import { checkName, identKey, Jail, SAFE_OPEN, same, STALE_DIR } from './export/confine.ts';
import type { Ident } from './export/confine.ts';
import { codeOf, fsError, sys, X } from './export/errors.ts';
import { fileHandle } from './export/handle.ts';
import { kindOf, qidPath, qidType, qidVersion, toAttr } from './export/ident.ts';
import type { Kind } from './export/ident.ts';
import type { Attr, AttrChange, CreateRequest, Handle, MaybePromise, Node, OpenMode, StatFs } from './types.ts';

export interface ExportOptions {
  /** Allow changes (create, write, remove...). Default false: they answer EROFS. */
  writable?: boolean;
}

/** A new file's fd is kept this long for the open that follows its create (see create()). */
const PENDING_MS = 10_000;
/**
 * An entry stat'ed this recently (listed, looked up, getattr) is lstat'ed again synchronously,
 * not through the thread pool: its inode is in the kernel's cache, so lstat(2) is a ~2 us
 * memory lookup that cannot wait on a disk, while the pool costs a round trip (two thread
 * wake-ups) per call. `ls -l` (Treaddir, then Twalk + Tgetattr of every entry) lstatted each
 * entry three times through the pool; with this (and the synchronous readlink of confine.ts) the
 * stat walk of bench/export.ts (10 100 entries) went from 0.43-0.49x to 0.8-0.94x of diod's rate
 * (bench/export.md). Every call still
 * happens, on the same verified path, so nothing is served from a cache: a file replaced between
 * walk and getattr is still seen. Cold entries (first walk, nothing listed) keep the async path,
 * and so does anything not on the root's file system when that is not a local disk one
 * (LOCAL_FS): an lstat on NFS or FUSE may wait on a server — and on a 9P mount of this very node,
 * a synchronous call would wait for our own blocked event loop forever.
 */
const HOT_MS = 1000;
/** statfs f_type of file systems whose cached lstat never waits on anything but memory (see HOT_MS). */
const LOCAL_FS = new Set([
  0xef53, // ext2/3/4
  0x58465342, // xfs
  0x9123683e, // btrfs
  0x01021994, // tmpfs
  0x858458f6, // ramfs
  0xf2f52010, // f2fs
  0x2fc12fc1, // zfs
  0xca451a4e, // bcachefs
  0x794c7630, // overlayfs (containers' root)
]);
/**
 * A listing's lstat of an entry answers the next lookup of its name within this time, once,
 * without another readlink + lstat: `ls -l` walks every entry it was just given (Treaddir, then
 * Twalk + Tgetattr + Tclunk each), and the walk cost as much server CPU as the getattr. The
 * lookup then answers what the listing saw (a name removed or replaced since is found stale by
 * the getattr, whose lstat is always made, or by any later operation, which verifies as always);
 * nothing is opened or named on the disk with it, so confinement is untouched. With it the stat
 * walk of bench/export.ts went from ~80 to ~50-60 us of server CPU per entry (diod: ~65) and
 * from 0.8-0.94x to 0.9-1.03x of diod's rate (bench/export.md).
 */
const LISTED_MS = 500;
/** lstat calls in flight while listing a directory. */
const LIST_PARALLEL = 64;
const PATH_MAX = 4095;

interface Tree {
  readonly jail: Jail;
  /** The root's st_dev when its file system is in LOCAL_FS: only entries on it are lstat'ed synchronously. */
  readonly syncDev: bigint | undefined;
  readonly writable: boolean;
  /** Set when the whole export is taken out of service: every node then answers ESTALE. */
  retired: boolean;
}

const notFoundToUndefined = (err: unknown): undefined => {
  if (codeOf(err) === 'ENOENT') return undefined;
  throw fsError(err);
};

export class ExportNode implements Node {
  readonly qid: Qid;
  readonly kind: Kind;
  private readonly id: Ident;
  /** identKey(id), made on first use (directories only). */
  private key: string | undefined;
  private last: BigIntStats;
  private writes = 0;
  /** The `writes` qid.version was last hashed with (by refresh). */
  private versionWrites = 0;
  private isRemoved = false;
  /** Directory entries we handed out, by name (only while referenced). */
  private readonly children = new Map<string, WeakRef<ExportNode>>();
  private pending: { fh: FileHandle; timer: NodeJS.Timeout } | undefined;
  /** When we last lstat'ed this entry (performance.now()); see HOT_MS. */
  private statAt = performance.now();
  /** When a listing of our parent stat'ed us, until a lookup uses it (see LISTED_MS). */
  private listedAt: number | undefined;

  constructor(private readonly tree: Tree, public parent: ExportNode | undefined, public name: string, st: BigIntStats) {
    this.kind = kindOf(st);
    this.id = { dev: st.dev, ino: st.ino, birthtimeNs: st.birthtimeNs };
    this.last = st;
    this.qid = { type: qidType(this.kind), version: qidVersion(st, 0), path: qidPath(st) };
  }

  get removed(): boolean { return this.isRemoved || this.tree.retired; }

  /**
   * Retires the whole export (its provider stopped or reloaded): every node of it, open fids
   * included, answers ESTALE from now on rather than serving on from a tree nobody owns.
   */
  markRemoved(): void {
    this.tree.retired = true;
    this.dispose();
  }

  /**
   * Releases the directory fds the export keeps open (up to 64, for speed). Call it when the
   * export is retired; nodes still in use keep working, verifying every directory afresh.
   */
  dispose(): void { this.tree.jail.close(); }

  /** The path we believe this entry has (only ever opened with the checks of confine.ts). */
  private get full(): string {
    if (!this.parent) return this.tree.jail.root;
    const p = this.parent.full;
    return `${p === '/' ? '' : p}/${this.name}`;
  }

  private drop(): void {
    this.isRemoved = true;
    this.listedAt = undefined;
    this.closePending();
  }

  /** Runs an operation on this node; E.removed (its entry or a parent is gone or replaced) marks it removed. */
  private async own<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (err === E.removed) this.drop();
      throw err;
    }
  }

  /** `fn` in this directory, verified (confine.ts); when the directory itself is stale, it is dropped. */
  private async inDir<T>(fn: (base: string, stat: () => Promise<BigIntStats>) => Promise<T>): Promise<T> {
    try {
      return await this.tree.jail.dir(this.full, this.id, fn, this.key ??= identKey(this.id));
    } catch (err) {
      if (err !== STALE_DIR) throw err;
      this.drop();
      throw E.removed;
    }
  }

  /**
   * `fn` with a path naming this node's entry: `base`/`name` in the verified parent, after an
   * lstat showed it is still our inode (`follow` false: use only calls that do not follow a final
   * symlink); for the root, the verified root directory itself (`follow` true: the path is the
   * magic link of its fd, which only calls that follow it reach).
   */
  private atSelf<T>(fn: (path: string, follow: boolean, base: string, st: BigIntStats) => Promise<T>): Promise<T> {
    const parent = this.parent;
    if (!parent) return this.inDir(async (base, stat) => fn(base, true, base, await stat()));
    return this.own(parent.inDir(async (base) => {
      const path = `${base}/${this.name}`;
      const st = await lstatEntry(path, this.hot);
      if (!st || !same(st, this.id)) throw E.removed;
      this.statAt = performance.now();
      return fn(path, false, base, st);
    }));
  }

  private get hot(): boolean { return this.id.dev === this.tree.syncDev && performance.now() - this.statAt < HOT_MS; }

  private refresh(st: BigIntStats): BigIntStats {
    const old = this.last;
    this.last = st;
    // The hash only when an input changed: most refreshes see the same file (2 BigInt hashes saved).
    if (this.versionWrites !== this.writes || old.mtimeNs !== st.mtimeNs || old.ctimeNs !== st.ctimeNs || old.size !== st.size) {
      this.qid.version = qidVersion(st, this.writes);
      this.versionWrites = this.writes;
    }
    return st;
  }

  /** Writes and truncations made through us (export/handle.ts's read-ahead checks it). */
  get writeCount(): number { return this.writes; }

  /** After a write through us: the version changes even within one timestamp tick. */
  wrote(): void {
    this.writes++;
    this.qid.version = qidVersion(this.last, this.writes);
  }

  private writable(): void {
    if (!this.tree.writable) throw X.readOnly;
  }

  // ---- every node ----

  /** Synchronous when the stat cannot block (statNow), which lets the session answer in place. */
  getattr(): MaybePromise<Attr> {
    const st = this.statNow();
    return st ? toAttr(this.refresh(st)) : this.getattrLater();
  }

  private async getattrLater(): Promise<Attr> {
    const st = this.kind === 'dir' ? await this.inDir((_b, stat) => stat()) : await this.atSelf(async (_p, _f, _b, s) => s);
    return toAttr(this.refresh(st));
  }

  /**
   * This node's stat made now, when making it cannot block: the export is on a local disk
   * (tree.syncDev, see HOT_MS) and the directory holding the entry has a held fd whose link
   * still reads its path (Jail.dirNow, the same check dir() makes). A directory is fstat'ed
   * through its own held fd (the fd pins the inode: no I/O); a file or link we stat'ed within
   * HOT_MS is lstat'ed in its verified parent, as atSelf would. Anything else (no held fd, cold,
   * gone, replaced, an error) returns undefined and the asynchronous path, which deals with all
   * of those, runs instead. In bench/export.ts's stat walk this answers every Tgetattr in place
   * (no promise chain through inDir/dir/atSelf): see bench/export.md.
   */
  private statNow(): BigIntStats | undefined {
    const tree = this.tree;
    if (tree.syncDev === undefined || this.id.dev !== tree.syncDev || this.isRemoved || tree.retired) return undefined;
    try {
      if (this.kind === 'dir') {
        return tree.jail.dirNow(this.full, this.key ??= identKey(this.id), (_b, fd) => fstatSync(fd, { bigint: true }))?.value;
      }
      const parent = this.parent;
      if (!parent || !this.hot) return undefined;
      const name = this.name;
      const st = tree.jail.dirNow(parent.full, parent.key ??= identKey(parent.id),
        (base) => lstatSync(`${base}/${name}`, { bigint: true, throwIfNoEntry: false }))?.value;
      if (!st || !same(st, this.id)) return undefined;
      this.statAt = performance.now();
      return st;
    } catch {
      return undefined;
    }
  }

  async setattr(c: AttrChange): Promise<void> {
    this.writable();
    const uid = c.nUid ?? (c.uid !== undefined ? owner(c.uid) : undefined);
    const gid = c.nGid ?? (c.gid !== undefined ? owner(c.gid) : undefined);
    if (c.size !== undefined && this.kind !== 'file') throw this.kind === 'dir' ? E.isDir : E.invalid;
    if (c.size !== undefined && c.size > BigInt(Number.MAX_SAFE_INTEGER)) throw X.tooBig;
    if (c.mode !== undefined && this.kind === 'symlink') throw E.notSupported;
    const timed = c.atimeMs !== undefined || c.mtimeMs !== undefined;
    // Ordered so that what is likeliest to be refused (chown) comes first and a refusal leaves
    // the rest untouched; times last, since truncating sets mtime.
    const st = await this.atSelf(async (path, follow, base, cur) => {
      if (uid !== undefined || gid !== undefined) await sys((follow ? chown : lchown)(path, uid ?? -1, gid ?? -1));
      if (c.size !== undefined) await this.truncateAt(path, Number(c.size));
      if (c.mode !== undefined) {
        const mode = c.mode & 0o7777;
        if (follow) await sys(chmod(path, mode));
        else await sys(this.tree.jail.entry(base, this.name, this.id, (t) => chmod(t, mode)));
      }
      if (timed) {
        const sec = (ms: number | undefined, ns: bigint): number => (ms ?? Number(ns / 1000n) / 1000) / 1000;
        await sys((follow ? utimes : lutimes)(path, sec(c.atimeMs, cur.atimeNs), sec(c.mtimeMs, cur.mtimeNs)));
      }
      return sys((follow ? stat : lstat)(path, { bigint: true }));
    });
    if (c.size !== undefined) this.writes++;
    this.refresh(st);
  }

  private async truncateAt(path: string, size: number): Promise<void> {
    const fh = await sys(open(path, K.O_WRONLY | SAFE_OPEN));
    try {
      const st = await fh.stat({ bigint: true });
      if (!same(st, this.id) || !st.isFile()) throw E.removed;
      await sys(fh.truncate(size));
    } finally {
      await fh.close();
    }
  }

  async open(mode: OpenMode): Promise<Handle> {
    if (this.kind === 'dir') {
      await this.inDir(async (_b, stat) => this.refresh(await stat()));
      return {};
    }
    if (this.kind === 'symlink') throw X.symlink;
    if (this.kind === 'special') throw X.special;
    if (mode.write || mode.truncate) this.writable();
    const p = this.takePending();
    if (p) return fileHandle(p, mode, this, mode.append, this.id.dev === this.tree.syncDev);
    const flags = (mode.read && mode.write ? K.O_RDWR : mode.write ? K.O_WRONLY : K.O_RDONLY) |
      (mode.append ? K.O_APPEND : 0) | SAFE_OPEN;
    const fh = await this.atSelf((path) => open(path, flags).catch((err: unknown) => {
      // Our entry turned into a symlink (O_NOFOLLOW) or vanished since the lstat: not our file.
      if (codeOf(err) === 'ELOOP' || codeOf(err) === 'ENOENT') throw E.removed;
      throw fsError(err);
    }));
    try {
      const st = await fh.stat({ bigint: true });
      if (!same(st, this.id) || !st.isFile()) throw E.removed;
      if (mode.truncate && mode.write) {
        await sys(fh.truncate(0));
        this.writes++;
      }
      this.refresh(st);
    } catch (err) {
      await fh.close();
      if (err === E.removed) this.drop();
      throw err;
    }
    return fileHandle(fh, mode, this, false, this.id.dev === this.tree.syncDev);
  }

  statfs(): Promise<StatFs> {
    const dir = this.kind === 'dir' || !this.parent ? this : this.parent;
    return dir.inDir(async (base) => {
      const s = await sys(statfs(base, { bigint: true }));
      return { bsize: Number(s.bsize), blocks: s.blocks, bfree: s.bavail, files: s.files, ffree: s.ffree, namelen: 255 };
    });
  }

  async readlink(): Promise<string> {
    if (this.kind !== 'symlink') throw X.notLink;
    return this.atSelf((path) => sys(readlink(path)));
  }

  // ---- directories ----

  /** Synchronous right after a listing (see LISTED_MS), so the session answers that Twalk in place. */
  lookup(name: string): MaybePromise<Node | undefined> {
    checkName(name);
    const known = this.children.get(name)?.deref();
    if (known?.listedAt !== undefined) {
      const fresh = performance.now() - known.listedAt <= LISTED_MS && !known.removed && !this.removed;
      known.listedAt = undefined;
      if (fresh) return known;
    }
    return this.lookupLater(name, known?.hot ?? false);
  }

  private async lookupLater(name: string, hot: boolean): Promise<Node | undefined> {
    const st = await this.inDir((base) => lstatEntry(`${base}/${name}`, hot));
    if (!st) {
      this.forget(name);
      return undefined;
    }
    return this.adopt(name, st);
  }

  async list(): Promise<readonly Node[]> {
    const found = await this.inDir(async (base) => {
      const names = await sys(readdir(base));
      const out: Array<[string, BigIntStats]> = [];
      const start = this.id.dev === this.tree.syncDev ? statListedNow(base, names, out) : 0;
      for (let i = start; i < names.length; i += LIST_PARALLEL) {
        const batch = names.slice(i, i + LIST_PARALLEL);
        const stats = await Promise.all(batch.map((n) => lstat(`${base}/${n}`, { bigint: true }).catch(notFoundToUndefined)));
        stats.forEach((st, j) => { if (st) out.push([batch[j]!, st]); });
      }
      return out;
    });
    for (const [name, ref] of this.children) if (!ref.deref()) this.children.delete(name);
    const now = performance.now();
    return found.map(([name, st]) => {
      const node = this.adopt(name, st);
      node.listedAt = now;
      return node;
    });
  }

  /**
   * A new file is created with O_CREAT|O_EXCL|O_RDWR and its fd kept for the open the session
   * makes next: POSIX lets the creator write a file it creates read-only (mode 0444), which a
   * second open could not.
   */
  async create(req: CreateRequest): Promise<Node> {
    this.writable();
    const { name } = req;
    checkName(name);
    const perm = req.perm & 0o777;
    if (req.dir) {
      const st = await this.inDir(async (base) => {
        const path = `${base}/${name}`;
        await sys(mkdir(path, perm));
        let s = await sys(lstat(path, { bigint: true }));
        // The process umask may have taken bits the client asked for.
        if (Number(s.mode & 0o777n) !== perm) {
          await sys(this.tree.jail.entry(base, name, s, (t) => chmod(t, perm)));
          s = await sys(lstat(path, { bigint: true }));
        }
        return s;
      });
      return this.adopt(name, st);
    }
    const fh = await this.inDir((base) => sys(open(`${base}/${name}`, K.O_CREAT | K.O_EXCL | K.O_RDWR | SAFE_OPEN, perm)));
    try {
      let st = await fh.stat({ bigint: true });
      if (Number(st.mode & 0o777n) !== perm) {
        await sys(fh.chmod(perm));
        st = await fh.stat({ bigint: true });
      }
      const node = this.adopt(name, st);
      node.stash(fh);
      return node;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async unlink(name: string): Promise<void> {
    this.writable();
    checkName(name);
    await this.inDir(async (base) => {
      const path = `${base}/${name}`;
      const st = await sys(lstat(path, { bigint: true }));
      if (!st.isDirectory()) return sys(unlink(path));
      // rmdir may answer EEXIST for a non-empty directory (POSIX allows both).
      return rmdir(path).catch((err: unknown) => { throw codeOf(err) === 'EEXIST' ? E.notEmpty : fsError(err); });
    });
    this.forget(name);
  }

  async rename(oldName: string, newDir: Node, newName: string): Promise<void> {
    this.writable();
    checkName(oldName);
    checkName(newName);
    const to = this.sameTree(newDir);
    if (to.kind !== 'dir') throw E.notDir;
    await this.inDir((a) => (to === this
      ? sys(rename(`${a}/${oldName}`, `${a}/${newName}`))
      : to.inDir((b) => sys(rename(`${a}/${oldName}`, `${b}/${newName}`)))));
    const moved = this.children.get(oldName)?.deref();
    const replaced = to.children.get(newName)?.deref();
    // Two names of one file: rename(2) does nothing, and so do we.
    if (moved && replaced && same(moved.id, replaced.id)) return;
    if (replaced && replaced !== moved) replaced.drop();
    this.children.delete(oldName);
    if (moved) {
      moved.listedAt = undefined;
      moved.parent = to;
      moved.name = newName;
      to.children.set(newName, new WeakRef(moved));
    } else {
      to.children.delete(newName);
    }
  }

  async symlink(name: string, target: string): Promise<Node> {
    this.writable();
    checkName(name);
    if (target.includes('\0')) throw X.nulInName;
    if (Buffer.byteLength(target, 'utf8') > PATH_MAX) throw X.nameTooLong;
    const st = await this.inDir(async (base) => {
      await sys(symlink(target, `${base}/${name}`));
      return sys(lstat(`${base}/${name}`, { bigint: true }));
    });
    return this.adopt(name, st);
  }

  async link(name: string, target: Node): Promise<void> {
    this.writable();
    checkName(name);
    const t = this.sameTree(target);
    if (t.kind === 'dir' || !t.parent) throw X.linkDir;
    const from = t.parent;
    const st = await from.inDir((fb) => this.inDir(async (db) => {
      const src = `${fb}/${t.name}`;
      const dst = `${db}/${name}`;
      const before = await sys(lstat(src, { bigint: true }));
      if (!same(before, t.id)) throw E.removed;
      await sys(link(src, dst));
      const made = await sys(lstat(dst, { bigint: true }));
      // Swapped between our lstat and link(2): undo, the name is not the node's.
      if (!same(made, t.id)) {
        await unlink(dst).catch(() => undefined);
        throw E.removed;
      }
      return made;
    }));
    this.adopt(name, st);
  }

  // ---- bookkeeping ----

  private sameTree(n: Node): ExportNode {
    if (!(n instanceof ExportNode) || n.tree !== this.tree) throw X.otherTree;
    return n;
  }

  /** The node for entry `name` with stat `st`: the one handed out before if it is the same inode. */
  private adopt(name: string, st: BigIntStats): ExportNode {
    const old = this.children.get(name)?.deref();
    // Same dev, ino and birth time: the same qid.path (ident.ts), without hashing it again.
    if (old && !old.isRemoved && same(old.id, st) && old.last.birthtimeNs === st.birthtimeNs) {
      old.refresh(st);
      old.statAt = performance.now();
      return old;
    }
    old?.drop(); // replaced behind our back
    const node = new ExportNode(this.tree, this, name, st);
    this.children.set(name, new WeakRef(node));
    return node;
  }

  private forget(name: string): void {
    this.children.get(name)?.deref()?.drop();
    this.children.delete(name);
  }

  private stash(fh: FileHandle): void {
    this.closePending();
    const timer = setTimeout(() => this.closePending(), PENDING_MS);
    timer.unref();
    this.pending = { fh, timer };
  }

  private takePending(): FileHandle | undefined {
    const p = this.pending;
    if (!p) return undefined;
    this.pending = undefined;
    clearTimeout(p.timer);
    return p.fh;
  }

  private closePending(): void {
    void this.takePending()?.close().catch(() => undefined);
  }
}

/**
 * lstat of an entry in a verified directory; undefined when it does not exist. `hot`: the entry
 * was stat'ed within HOT_MS, so the call is made synchronously (see HOT_MS).
 */
function lstatEntry(path: string, hot: boolean): Promise<BigIntStats | undefined> {
  if (!hot) return lstat(path, { bigint: true }).catch(notFoundToUndefined);
  try {
    return Promise.resolve(lstatSync(path, { bigint: true, throwIfNoEntry: false }));
  } catch (err) {
    return Promise.reject(fsError(err));
  }
}

/**
 * A listing's lstats made synchronously while the kernel answers them from its caches, on a
 * local disk file system only (the caller checks tree.syncDev). Each call is timed; the first
 * that takes over LIST_SYNC_NS (it waited for the disk: an inode not cached) ends this, and the
 * rest of the listing goes through the thread pool. So a listing blocks the loop for at most one
 * disk read, and a cached one (the common case: ls -l of a directory just walked) costs no
 * thread-pool round trip and no promise per entry: in bench/export.ts's stat walk those were
 * ~15% of the server's CPU. Returns how many names were done (found ones appended to `out`).
 */
function statListedNow(base: string, names: readonly string[], out: Array<[string, BigIntStats]>): number {
  let i = 0;
  for (; i < names.length; i++) {
    const t = process.hrtime.bigint();
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(`${base}/${names[i]}`, { bigint: true, throwIfNoEntry: false });
    } catch {
      return i; // an error other than ENOENT: the async path reports it as before
    }
    if (st) out.push([names[i]!, st]);
    if (process.hrtime.bigint() - t > LIST_SYNC_NS) return i + 1;
  }
  return i;
}

/** A synchronous listing lstat slower than this waited for the disk (statListedNow). */
const LIST_SYNC_NS = 200_000n;

/** A 9P2000 owner name: ours are numbers. */
function owner(name: string): number {
  if (!/^\d{1,10}$/.test(name) || Number(name) > 0xfffffffe) throw E.invalid.withText('unknown user');
  return Number(name);
}

/** Exports `rootDir` (resolved once through realpath: the root itself may be reached by a symlink). */
export function exportTree(rootDir: string, opts: ExportOptions = {}): ExportNode {
  const real = realpathSync(rootDir);
  const st = lstatSync(real, { bigint: true });
  if (!st.isDirectory()) throw new TypeError(`export: ${rootDir} is not a directory`);
  let local = false;
  try {
    local = LOCAL_FS.has(Number(statfsSync(real).type));
  } catch {
    // No statfs: every lstat stays asynchronous.
  }
  const tree = { jail: new Jail(real), syncDev: local ? st.dev : undefined, writable: opts.writable ?? false, retired: false };
  return new ExportNode(tree, undefined, '/', st);
}
