// An in-memory read-write tree: create, write, read, mkdir, remove, rename, truncate, chmod.
// Used to exercise the write side of the server (conformance, diodload-style load, bulk reads).
// Semantics follow POSIX where 9P leaves room, except that a removed file is gone for every fid
// at once (ESTALE), like the synthetic tree, rather than living on while open.

import { QTDIR, QTFILE } from '../codec/constants.ts';
import type { Qid } from '../codec/messages.ts';
import { E, NineError } from '../errors.ts';
import { EFBIG, ENOSPC } from '../codec/constants.ts';
import type { Attr, AttrChange, CreateRequest, Handle, Node, OpenMode, StatFs } from './types.ts';

const EMPTY = new Uint8Array(0);
const NOSPACE = new NineError(ENOSPC, 'no space left on device');
const TOOBIG = new NineError(EFBIG, 'file too large');

export interface MemFsOptions {
  /** Refuse writes that would take the total stored bytes past this (ENOSPC). Default 1 GiB. */
  maxBytes?: number;
  /** The root's name (default "/"); give one to mount the tree inside another. */
  name?: string;
}

class Store {
  lastPath = 0n;
  bytes = 0;
  files = 0;
  constructor(readonly maxBytes: number) {}
}

abstract class MemNode implements Node {
  readonly qid: Qid;
  parent: MemDir | undefined;
  isRemoved = false;
  mode: number;
  atimeMs = Date.now();
  mtimeMs = this.atimeMs;
  ctimeMs = this.atimeMs;
  nUid: number;
  nGid: number;
  uid: string;
  gid: string;

  constructor(protected readonly store: Store, public name: string, qtype: number, mode: number, owner: { nUid: number; nGid: number; uid: string }) {
    this.qid = { type: qtype, version: 0, path: ++store.lastPath };
    this.mode = mode & 0o7777;
    this.nUid = owner.nUid;
    this.nGid = owner.nGid;
    this.uid = owner.uid;
    this.gid = owner.uid;
  }

  get removed(): boolean { return this.isRemoved; }
  protected abstract length(): number;

  getattr(): Attr {
    return {
      mode: this.mode, size: BigInt(this.length()), atimeMs: this.atimeMs, mtimeMs: this.mtimeMs, ctimeMs: this.ctimeMs,
      uid: this.uid, gid: this.gid, muid: this.uid, nUid: this.nUid, nGid: this.nGid, nlink: 1,
    };
  }

  setattr(c: AttrChange): void {
    // Validate everything first so the change is all or nothing.
    if (c.size !== undefined && !(this instanceof MemFile)) throw E.isDir;
    if (c.size !== undefined && c.size > BigInt(this.store.maxBytes)) throw TOOBIG;
    if (c.size !== undefined && this instanceof MemFile) this.truncate(Number(c.size));
    if (c.mode !== undefined) this.mode = c.mode & 0o7777;
    if (c.atimeMs !== undefined) this.atimeMs = c.atimeMs;
    if (c.mtimeMs !== undefined) this.mtimeMs = c.mtimeMs;
    if (c.nUid !== undefined) this.nUid = c.nUid;
    if (c.nGid !== undefined) this.nGid = c.nGid;
    if (c.uid !== undefined) this.uid = c.uid;
    if (c.gid !== undefined) this.gid = c.gid;
    this.ctimeMs = Date.now();
  }

  statfs(): StatFs {
    const bsize = 4096;
    const blocks = BigInt(Math.ceil(this.store.maxBytes / bsize));
    const used = BigInt(Math.ceil(this.store.bytes / bsize));
    return { bsize, blocks, bfree: blocks - used, files: 1n << 20n, ffree: (1n << 20n) - BigInt(this.store.files), namelen: 255 };
  }
}

export class MemFile extends MemNode {
  private data: Buffer = Buffer.alloc(0);
  private len = 0;

  constructor(store: Store, name: string, mode: number, owner: { nUid: number; nGid: number; uid: string }) {
    super(store, name, QTFILE, mode, owner);
  }

  protected length(): number { return this.len; }

  /** The content (a copy). */
  content(): Buffer { return Buffer.from(this.data.subarray(0, this.len)); }

  truncate(n: number): void {
    if (n > this.len) this.ensure(n);
    else this.store.bytes -= this.len - n;
    if (n > this.len) this.data.fill(0, this.len, n);
    this.store.bytes += Math.max(0, n - this.len);
    this.len = n;
    this.touch();
  }

  private touch(): void {
    this.mtimeMs = this.ctimeMs = Date.now();
    this.qid.version = (this.qid.version + 1) >>> 0;
  }

  private ensure(n: number): void {
    if (this.store.bytes + Math.max(0, n - this.len) > this.store.maxBytes) throw NOSPACE;
    if (n <= this.data.length) return;
    const grown = Buffer.allocUnsafe(Math.max(n, Math.min(this.data.length * 2, n + (64 << 20))));
    this.data.copy(grown, 0, 0, this.len);
    this.data = grown;
  }

  writeAt(offset: number, src: Uint8Array): number {
    const end = offset + src.length;
    if (end > this.len) {
      this.ensure(end);
      if (offset > this.len) this.data.fill(0, this.len, offset);
      this.store.bytes += end - this.len;
      this.len = end;
    }
    this.data.set(src, offset);
    this.touch();
    return src.length;
  }

  readAt(offset: bigint, count: number): Uint8Array {
    if (offset >= BigInt(this.len)) return EMPTY;
    const at = Number(offset);
    return this.data.subarray(at, Math.min(this.len, at + count));
  }

  open(mode: OpenMode): Handle {
    if (mode.write && (this.mode & 0o222) === 0) throw E.perm;
    if (mode.truncate && mode.write) this.truncate(0);
    return {
      ignoresSignal: true,
      // Copy out: the buffer may be reallocated or overwritten while the reply is being sent.
      read: (offset, count) => Buffer.from(this.readAt(offset, count)),
      write: (offset, data) => {
        if (this.isRemoved) throw E.removed;
        const at = mode.append ? this.len : offset;
        if (at > BigInt(this.store.maxBytes)) throw TOOBIG;
        return this.writeAt(Number(at), data);
      },
    };
  }
}

export class MemDir extends MemNode {
  readonly children = new Map<string, MemNode>();

  constructor(store: Store, name: string, mode: number, owner: { nUid: number; nGid: number; uid: string }) {
    super(store, name, QTDIR, mode, owner);
  }

  protected length(): number { return 0; }

  lookup(name: string): Node | undefined { return this.children.get(name); }
  list(): readonly Node[] { return [...this.children.values()]; }
  open(): Handle { return {}; }

  create(req: CreateRequest): Node {
    if (this.children.has(req.name)) throw E.exists;
    const owner = { nUid: req.nUid, nGid: req.nGid, uid: req.uid };
    const node = req.dir ? new MemDir(this.store, req.name, req.perm, owner) : new MemFile(this.store, req.name, req.perm, owner);
    node.parent = this;
    this.children.set(req.name, node);
    this.store.files++;
    this.changed();
    return node;
  }

  unlink(name: string): void {
    const node = this.children.get(name);
    if (!node) throw E.notFound;
    if (node instanceof MemDir && node.children.size > 0) throw E.notEmpty;
    if (node instanceof MemFile) node.truncate(0);
    this.children.delete(name);
    node.isRemoved = true;
    node.parent = undefined;
    this.store.files--;
    this.changed();
  }

  rename(oldName: string, newDir: Node, newName: string): void {
    if (!(newDir instanceof MemDir)) throw E.crossDevice;
    const node = this.children.get(oldName);
    if (!node) throw E.notFound;
    if (newDir === this && oldName === newName) return;
    for (let d: MemDir | undefined = newDir; d; d = d.parent) if (d === node) throw E.invalid;
    const existing = newDir.children.get(newName);
    if (existing) {
      if (existing instanceof MemDir && !(node instanceof MemDir)) throw E.isDir;
      if (!(existing instanceof MemDir) && node instanceof MemDir) throw E.notDir;
      newDir.unlink(newName);
    }
    this.children.delete(oldName);
    node.name = newName;
    node.parent = newDir;
    newDir.children.set(newName, node);
    this.changed();
    newDir.changed();
  }

  private changed(): void {
    this.mtimeMs = this.ctimeMs = Date.now();
    this.qid.version = (this.qid.version + 1) >>> 0;
  }
}

/** A fresh empty in-memory tree; the returned directory is its root ("/"). */
export function memfs(opts: MemFsOptions = {}): MemDir {
  const store = new Store(opts.maxBytes ?? 1 << 30);
  const root = new MemDir(store, opts.name ?? '/', 0o777, { nUid: 0, nGid: 0, uid: 'cheshire' });
  return root;
}
