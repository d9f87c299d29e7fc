// The base of every synthetic node (fs/tree/synthetic.ts, fs/tree/stream.ts): a qid unique in the
// process, owner and permission bits, mtime, and the removed flag the session checks (a removed
// node answers ESTALE). Its own file so that node kinds in other files can extend it without an
// import cycle through synthetic.ts.
import type { Qid } from '../codec/messages.ts';
import { E } from '../errors.ts';
import type { Attr, AttrChange, Node } from './types.ts';

let lastPath = 0n;
/**
 * qid.path values are process-wide unique, so mounting one synthetic tree in another never
 * collides (a proxy of a tree in another isolate takes its paths from here too).
 */
export function nextPath(): bigint { return ++lastPath; }

export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new TypeError(`synthetic tree: illegal file name ${JSON.stringify(name)}`);
  }
}

export interface NodeOptions {
  /** Permission bits; defaults depend on the kind (0o555 dirs, 0o444/0o222/0o666 files). */
  mode?: number;
  uid?: string;
  gid?: string;
}

export abstract class SynNode implements Node {
  readonly qid: Qid;
  /** The directory holding this node (a SynDir), while it is in one. */
  parent: SynNode | undefined;
  protected isRemoved = false;
  protected readonly born = Date.now();
  mtimeMs = this.born;
  readonly uid: string;
  readonly gid: string;
  protected readonly perm: number;

  constructor(public name: string, qtype: number, perm: number, opts: NodeOptions) {
    checkName(name);
    this.qid = { type: qtype, version: 0, path: nextPath() };
    this.perm = opts.mode ?? perm;
    this.uid = opts.uid ?? 'cheshire';
    this.gid = opts.gid ?? 'cheshire';
  }

  get removed(): boolean { return this.isRemoved; }

  /** Called when the node leaves its tree; subclasses release waiters. */
  markRemoved(): void { this.isRemoved = true; }

  protected size(): bigint { return 0n; }

  getattr(): Attr {
    return {
      mode: this.perm, size: this.size(), atimeMs: this.mtimeMs, mtimeMs: this.mtimeMs, ctimeMs: this.mtimeMs,
      uid: this.uid, gid: this.gid, muid: this.uid, nUid: 0, nGid: 0, nlink: 1,
    };
  }

  /** Truncation and time updates are accepted and ignored, so `echo x > file` works through v9fs. */
  setattr(change: AttrChange): void {
    if (change.mode !== undefined || change.nUid !== undefined || change.nGid !== undefined ||
      change.uid !== undefined || change.gid !== undefined) throw E.perm;
  }
}
