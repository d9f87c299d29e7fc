// The fid table of one session (after lib9p fid.c): fid number -> what it points at. Numbers are
// the client's; a number in use (or reserved by a walk in progress) cannot be bound again, an
// unknown one is an error, a clunked one is free at once. The limit bounds memory per connection.

import { NOFID } from '../codec/constants.ts';
import { E } from '../errors.ts';
import type { Handle, Node } from '../tree/types.ts';
import type { Dirent, Stat } from '../codec/messages.ts';
import type { AuthConversation } from './auth.ts';

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
  /** Nodes from the attach root down to the current one; "..'" pops, never past the root. */
  path: Node[];
  open: OpenState | undefined;
  auth: AuthConversation | undefined;
  readonly users = new Set<FidUser>();

  constructor(readonly id: number, path: Node[], readonly uname: string, readonly nUname: number) {
    this.path = path;
  }

  get node(): Node { return this.path[this.path.length - 1]!; }
  get parent(): Node | undefined { return this.path.length > 1 ? this.path[this.path.length - 2] : undefined; }
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

  /** Empties the table (second Tversion, end of session) and returns the fids that were bound. */
  clear(): Fid[] {
    const out = [...this.fids.values()].filter((f): f is Fid => f !== RESERVED);
    this.fids = new Map();
    return out;
  }
}
