// The synthetic tree modules publish their control files with:
//   dir(name, [children]), file(name, { read, write }), ctl(name, onCommand), stream(name)
// (stream files, the logs, are in stream.ts and re-exported here).
// Content is produced by callbacks when read and consumed by callbacks when written, so files
// always show live state. The tree may change at runtime (dir.add / dir.remove / dir.replace);
// a removed node and everything under it is marked removed, and the session answers ESTALE to
// fids still on it (and wakes blocked stream reads) rather than serving stale data.
//
// Errors: a callback's thrown NineError is answered as is; any other Error's message becomes the
// 9P error text (EINVAL for writes and commands, EIO for reads), so `throw new Error('unknown
// module x')` in a ctl handler is what `echo reload x > ctl` prints.

import { QTDIR, QTFILE } from '../codec/constants.ts';
import { E, NineError } from '../errors.ts';
import { EINVAL, EIO } from '../codec/constants.ts';
import { checkName, SynNode, type NodeOptions } from './syn-node.ts';
import type { Handle, MaybePromise, Node, OpenMode } from './types.ts';

const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

function bytes(v: string | Uint8Array | void | undefined): Uint8Array {
  if (v === undefined) return EMPTY;
  return typeof v === 'string' ? enc.encode(v) : v;
}

function asNine(err: unknown, errno: number): NineError {
  if (err instanceof NineError) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new NineError(errno, text || (errno === EIO ? 'i/o error' : 'invalid argument'));
}

/**
 * A directory. Children are usually synthetic nodes; any other Node (a device, a memfs subtree)
 * may be mounted too, but only synthetic nodes are marked removed when taken out.
 */
export class SynDir extends SynNode {
  private readonly children = new Map<string, Node>();

  constructor(name: string, children: readonly Node[] = [], opts: NodeOptions = {}) {
    super(name, QTDIR, 0o555, opts);
    for (const c of children) this.add(c);
  }

  /** Adds a child; a name already present is a TypeError (use replace). Returns the child. */
  add<T extends Node>(child: T): T {
    checkName(child.name);
    if (this.children.has(child.name)) throw new TypeError(`synthetic tree: ${child.name} already exists in ${this.name}`);
    if (child instanceof SynNode) {
      if (child.parent) throw new TypeError(`synthetic tree: ${child.name} already has a parent`);
      child.parent = this;
    }
    this.children.set(child.name, child);
    this.mtimeMs = Date.now();
    return child;
  }

  /** Removes a child and marks it (and its subtree) removed. Returns whether it existed. */
  remove(name: string): boolean {
    const child = this.children.get(name);
    if (!child) return false;
    this.children.delete(name);
    if (child instanceof SynNode) {
      child.parent = undefined;
      child.markRemoved();
    }
    this.mtimeMs = Date.now();
    return true;
  }

  /** Puts `child` in place of the same-named child (which is marked removed), or adds it. */
  replace<T extends Node>(child: T): T {
    this.remove(child.name);
    return this.add(child);
  }

  get(name: string): Node | undefined { return this.children.get(name); }

  override markRemoved(): void {
    super.markRemoved();
    for (const c of this.children.values()) if (c instanceof SynNode) c.markRemoved();
  }

  lookup(name: string): Node | undefined { return this.children.get(name); }
  list(): readonly Node[] { return [...this.children.values()]; }

  open(): Handle { return {}; }
}

export interface FileOptions extends NodeOptions {
  /** Produces the whole content; called when a reader starts at offset 0 (once per pass). */
  read?: () => MaybePromise<string | Uint8Array>;
  /** Consumes one Twrite's bytes (the offset is ignored: each write is a whole message). */
  write?: (data: Buffer) => MaybePromise<void>;
}

/** Snapshot-per-pass reading: the content is produced at offset 0 and sliced for later offsets. */
class SnapshotReader {
  private content: Uint8Array | undefined;
  constructor(private readonly produce: () => MaybePromise<string | Uint8Array | void>) {}
  async read(offset: bigint, count: number): Promise<Uint8Array> {
    if (offset === 0n || this.content === undefined) {
      try { this.content = bytes(await this.produce()); } catch (err) { throw asNine(err, EIO); }
    }
    const c = this.content;
    if (offset >= BigInt(c.length)) return EMPTY;
    const at = Number(offset);
    return c.subarray(at, at + count);
  }
}

export class SynFile extends SynNode {
  constructor(name: string, private readonly opts: FileOptions = {}) {
    super(name, QTFILE, (opts.read ? 0o444 : 0) | (opts.write ? 0o222 : 0), opts);
  }

  open(mode: OpenMode): Handle {
    const { read, write } = this.opts;
    if ((mode.read && !read) || (mode.write && !write)) throw E.perm;
    const h: Handle = {};
    if (read) {
      const snap = new SnapshotReader(read);
      h.read = (offset, count) => snap.read(offset, count);
    }
    if (write) {
      h.write = async (_offset, data) => {
        try { await write(Buffer.from(data.buffer, data.byteOffset, data.byteLength)); } catch (err) { throw asNine(err, EINVAL); }
        this.mtimeMs = Date.now();
        return data.length;
      };
    }
    return h;
  }
}

export interface CtlOptions extends NodeOptions {
  /** What a read shows before any command was written on the fid (e.g. usage or state). */
  read?: () => MaybePromise<string | Uint8Array>;
}

/**
 * A control file: every write is one or more commands, one per line, run in order. A command's
 * returned string is what later reads on the same fid return (a transaction file); a thrown
 * error fails the write with its message as the 9P error text.
 */
export class SynCtl extends SynNode {
  constructor(
    name: string,
    private readonly onCommand: (command: string) => MaybePromise<string | void>,
    private readonly opts: CtlOptions = {},
  ) {
    super(name, QTFILE, 0o664, opts);
  }

  open(): Handle {
    let answer: string | undefined;
    const snap = new SnapshotReader(() => answer ?? this.opts.read?.() ?? '');
    return {
      read: (offset, count) => snap.read(offset, count),
      write: async (_offset, data) => {
        const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
        const out: string[] = [];
        for (const line of text.split('\n')) {
          const command = line.trim();
          if (command === '') continue;
          try {
            const r = await this.onCommand(command);
            if (typeof r === 'string') out.push(r);
          } catch (err) {
            throw asNine(err, EINVAL);
          }
        }
        if (out.length > 0) answer = out.join('');
        this.mtimeMs = Date.now();
        return data.length;
      },
    };
  }
}

export function dir(name: string, children: readonly Node[] = [], opts?: NodeOptions): SynDir {
  return new SynDir(name, children, opts);
}
export function file(name: string, opts: FileOptions = {}): SynFile {
  return new SynFile(name, opts);
}
export function ctl(name: string, onCommand: (command: string) => MaybePromise<string | void>, opts?: CtlOptions): SynCtl {
  return new SynCtl(name, onCommand, opts);
}
/** A root directory (its name is "/"). */
export function root(children: readonly Node[] = [], opts?: NodeOptions): SynDir {
  const r = new SynDir('root', children, opts);
  r.name = '/';
  return r;
}

export { SynNode, type NodeOptions };
export { SynStream, SynStreamFollow, StreamBuffer, StreamCursor, stream, type StreamOptions } from './stream.ts';
