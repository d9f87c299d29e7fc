// A root directory that stays the same object while the tree behind it is replaced. styx-root
// hands its server, with this root, to its next version: fids on the root itself (a Linux
// mount's root) stay valid across a reload, while fids deeper in the old tree get ESTALE
// because the old nodes are marked removed. The server's attach and auth hooks go through it
// too, so the access policy of the running version is the one applied.
import { QTDIR } from '../codec/constants.ts';
import type { Qid } from '../codec/messages.ts';
import type { AuthConversation, AuthInfo, AuthProvider } from '../server/auth.ts';
import { E } from '../errors.ts';
import { AttachPoint } from './attach-point.ts';
import type { AttachRequest, Attr, AttrChange, CreateRequest, Handle, MaybePromise, Node, OpenMode } from './types.ts';

/** What the running version plugs in: its root and who may attach. */
export interface SwitchTarget {
  root: Node;
  /** Throw a NineError to refuse the attach (address not allowed, not authenticated...). */
  admit?(req: AttachRequest): void;
  auth?: AuthProvider;
}

export class SwitchRoot implements Node {
  readonly name = '/';
  readonly qid: Qid;
  private target: SwitchTarget | null = null;
  /** Counts the trees this root has pointed at (an attach point walks its path again after a change). */
  generation = 0;
  private readonly born = Date.now();

  constructor(qidPath = 0xc4e5_41e0n) {
    this.qid = { type: QTDIR, version: 0, path: qidPath };
  }

  /** Points the root at a new tree (or at nothing while no version runs). */
  set(target: SwitchTarget | null): void {
    this.target = target;
    this.generation++;
  }

  private get root(): Node {
    if (!this.target) throw E.io.withText('node tree is restarting');
    return this.target.root;
  }

  /**
   * For NineServer's `attach` option. An aname that is a path ("/export/home") attaches at that
   * node of the tree, so a remote client can graft just one export; "" or "/" is the root.
   */
  readonly attach = async (req: AttachRequest): Promise<Node> => {
    if (!this.target) throw E.io.withText('node tree is restarting');
    this.target.admit?.(req);
    let node: Node = this;
    const names = req.aname.split('/').filter(Boolean);
    for (const name of names) {
      if (name === '.' || name === '..') throw E.noAttach;
      const next = await node.lookup?.(name);
      if (!next) throw E.noAttach;
      node = next;
    }
    return names.length ? new AttachPoint(this, names, node) : node;
  };

  /** For NineServer's `auth` option: delegates to the running version's provider. */
  readonly auth: AuthProvider = {
    begin: (info: AuthInfo): MaybePromise<AuthConversation> => {
      const p = this.target?.auth;
      if (!p) throw E.noAuth;
      return p.begin(info);
    },
    allowUnauthenticated: (info: AuthInfo): boolean => {
      const p = this.target?.auth;
      return !p || (p.allowUnauthenticated?.(info) ?? false);
    },
  };

  async getattr(): Promise<Attr> {
    if (!this.target) {
      const t = this.born;
      return { mode: 0o555, size: 0n, atimeMs: t, mtimeMs: t, ctimeMs: t, uid: 'cheshire', gid: 'cheshire', muid: 'cheshire', nUid: 0, nGid: 0, nlink: 2 };
    }
    return this.root.getattr();
  }

  setattr(change: AttrChange): MaybePromise<void> {
    const r = this.root;
    if (!r.setattr) throw E.notSupported;
    return r.setattr(change);
  }

  open(mode: OpenMode): MaybePromise<Handle> {
    const r = this.root;
    return r.open ? r.open(mode) : {};
  }

  lookup(name: string): MaybePromise<Node | undefined> {
    return this.root.lookup?.(name);
  }

  list(): MaybePromise<readonly Node[]> {
    return this.root.list?.() ?? [];
  }

  create(req: CreateRequest): MaybePromise<Node> {
    const r = this.root;
    if (!r.create) throw E.perm;
    return r.create(req);
  }

  unlink(name: string): MaybePromise<void> {
    const r = this.root;
    if (!r.unlink) throw E.perm;
    return r.unlink(name);
  }

  rename(oldName: string, newDir: Node, newName: string): MaybePromise<void> {
    const r = this.root;
    if (!r.rename) throw E.perm;
    return r.rename(oldName, newDir === this ? r : newDir, newName);
  }
}
