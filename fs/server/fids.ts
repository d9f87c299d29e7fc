// The fid table of one session (after lib9p fid.c): fid number -> what it points at. Numbers are
// the client's; a number in use (or reserved by a walk in progress) cannot be bound again, an
// unknown one is an error, a clunked one is free at once. The limit bounds memory per connection.

import { NOFID } from '../codec/constants.ts';
import { E } from '../errors.ts';
import type { Handle, Node } from '../tree/types.ts';
import type { Dirent, Stat } from '../codec/messages.ts';
import type { AuthConversation } from './auth.ts';
import { isPromise } from './maybe.ts';
import type { MaybePromise } from '../tree/types.ts';

/**
 * The fid's path no longer leads to its file: the parent it was walked through now holds another
 * file (or nothing) under the file's name, because it was renamed by another connection (whose
 * fids are not re-pointed, see FidTable.moved) or behind the tree's back.
 */
const MOVED = E.removed.withText('file has been moved or replaced');

export interface OpenState {
  handle: Handle;
  read: boolean;
  write: boolean;
  dir: boolean;
  /** ORCLOSE: remove the file when the fid is clunked. */
  removeOnClunk: boolean;
  /** 9P2000 directory read: the only offset (besides 0) the next read may use, and where it resumes. */
  dirNext: bigint;
  dirIndex: number;
  dirStats?: Stat[];
  /** .L readdir snapshot; entry i has cookie i+1. */
  dirents?: Dirent[];
  /** Serialises directory reads on this fid (their offsets depend on each other). */
  dirLock: Promise<void>;
}

/** Anything that runs on a fid and must be cancelled when the fid goes away. */
export interface FidUser { abort(): void; settled: Promise<void> }

export class Fid {
  /**
   * Nodes from the attach root down to the current one; "..'" pops, never past the root. Renames
   * made through this session move it along (FidTable.moved).
   */
  path: Node[];
  open: OpenState | undefined;
  auth: AuthConversation | undefined;
  readonly users = new Set<FidUser>();

  constructor(readonly id: number, path: Node[], readonly uname: string, readonly nUname: number) {
    this.path = path;
  }

  get node(): Node { return this.path[this.path.length - 1]!; }
  get parent(): Node | undefined { return this.path.length > 1 ? this.path[this.path.length - 2] : undefined; }
  /** Its node was removed: every request on it answers ESTALE (auth fids have no path). */
  get stale(): boolean { return this.path.length > 0 && this.node.removed === true; }

  /**
   * The directory holding the fid's file and the file's name there, for what acts on the file
   * through its parent (Tremove, ORCLOSE, Trename, a wstat rename): those name an entry, and a
   * stale path would make them act on whatever file has that name now. So the entry is looked up
   * first and must still be the fid's file (same qid.path), else ESTALE. Synchronous when the
   * tree's lookup is, so an in-memory tree checks and acts in one go. The caller makes sure
   * there is a parent.
   */
  entry(): MaybePromise<{ parent: Node; name: string }> {
    const parent = this.parent!;
    const node = this.node;
    const name = node.name;
    if (!parent.lookup) return { parent, name };
    const check = (found: Node | undefined): { parent: Node; name: string } => {
      if (!found || found.qid.path !== node.qid.path) throw MOVED;
      return { parent, name };
    };
    const found = parent.lookup(name);
    return isPromise(found) ? found.then(check) : check(found);
  }
}

const RESERVED = Symbol('reserved');

export class FidTable {
  private fids = new Map<number, Fid | typeof RESERVED>();

  constructor(readonly limit: number) {}

  get size(): number { return this.fids.size; }

  /** The bound fid, or E.badFid (also for a number a walk has reserved but not bound yet). */
  get(id: number): Fid {
    const f = this.fids.get(id);
    if (f === undefined || f === RESERVED) throw E.badFid;
    return f;
  }

  /** Claims a free number (for attach/auth/walk newfid) until bind() or release(). */
  reserve(id: number): void {
    if (id === NOFID) throw E.badFid;
    if (this.fids.has(id)) throw E.dupFid;
    if (this.fids.size >= this.limit) throw E.tooManyFids;
    this.fids.set(id, RESERVED);
  }

  /** The bound fid `id`, or undefined (unknown or only reserved); never throws. */
  peek(id: number): Fid | undefined {
    const f = this.fids.get(id);
    return f === undefined || f === RESERVED ? undefined : f;
  }

  /** Binds a reserved number, or rebinds a fid to itself (walk with newfid == fid). */
  bind(fid: Fid): void { this.fids.set(fid.id, fid); }

  release(id: number): void {
    if (this.fids.get(id) === RESERVED) this.fids.delete(id);
  }

  /** Removes and returns the fid (clunk/remove). */
  take(id: number): Fid {
    const f = this.get(id);
    this.fids.delete(id);
    return f;
  }

  /** Whether a bound fid was walked through directory `dir` (to something inside it). */
  walkedThrough(dir: Node): boolean {
    for (const f of this.fids.values()) {
      if (f === RESERVED) continue;
      const i = f.path.indexOf(dir);
      if (i >= 0 && i < f.path.length - 1) return true;
    }
    return false;
  }

  /**
   * `node` was moved out of directory `from` into the directory `to` leads to (a rename between
   * two directories): every fid walked to it or below it through `from` now goes through `to`,
   * so its parent (Tremove, ORCLOSE, Trename) and ".." follow the file. Linux keeps its fids on
   * dentries that a rename moves along (d_move), diod re-points the renamed fid's path and QEMU's
   * 9p server every fid under the old path (v9fs_fix_fid_paths); so do we, for this session's
   * fids from the same attach root as `to`. Other fids (another connection's, or another attach
   * root's) are left alone: a path borrowed from elsewhere could lead them past their own root
   * by "..". Fid.entry() refuses what they then try through their old parent.
   */
  moved(node: Node, from: Node, to: readonly Node[]): void {
    for (const f of this.fids.values()) {
      if (f === RESERVED || f.path[0] !== to[0]) continue;
      const i = f.path.indexOf(node);
      if (i > 0 && f.path[i - 1] === from) f.path = [...to, ...f.path.slice(i)];
    }
  }

  /** Empties the table (second Tversion, end of session) and returns the fids that were bound. */
  clear(): Fid[] {
    const out = [...this.fids.values()].filter((f): f is Fid => f !== RESERVED);
    this.fids = new Map();
    return out;
  }
}
