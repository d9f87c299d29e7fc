// The node a client attaches to when its aname names a path ("/export/home"): it stands for
// that path of the switchable tree, not for one node of one version of it. After a reload of the
// tree (styx-root's next version), the next operation on it walks the path again in the new tree,
// so a Linux mount made with aname=/export/home keeps working as a mount of the root does; fids
// walked below it get ESTALE like every fid deep in an old tree, and the kernel walks again.
import type { Qid } from '../codec/messages.ts';
import { E } from '../errors.ts';
import type { AttrChange, CreateRequest, Node, OpenMode } from './types.ts';

/** What the attach point needs of the tree it stands in: a root to walk from and a counter of its versions. */
export interface Switchable {
  readonly generation: number;
  lookup(name: string): unknown;
}

export class AttachPoint implements Node {
  readonly name: string;
  readonly removed = false;
  private readonly firstQid: Qid;
  private gen: number;

  constructor(private readonly root: Switchable, private readonly names: readonly string[], private node: Node) {
    this.name = names.at(-1) ?? '/';
    this.firstQid = { ...node.qid };
    this.gen = root.generation;
  }

  /** The qid of the attach (kept across versions, so the client's mount root stays one inode). */
  get qid(): Qid {
    return { ...this.firstQid, type: this.node.qid.type };
  }

  /** The node the path names in the running version of the tree (walked again after a switch). */
  async resolve(): Promise<Node> {
    if (this.gen === this.root.generation && !this.node.removed) return this.node;
    let node: Node | undefined = this.root as unknown as Node;
    for (const name of this.names) {
      node = (await node?.lookup?.(name)) ?? undefined;
      if (!node) throw E.removed.withText(`${this.names.join('/')} is gone from the tree`);
    }
    this.node = node!;
    this.gen = this.root.generation;
    return this.node;
  }

  async getattr() { return (await this.resolve()).getattr(); }
  async setattr(c: AttrChange) { const t = await this.resolve(); if (!t.setattr) throw E.notSupported; return t.setattr(c); }
  async open(m: OpenMode) { const t = await this.resolve(); return t.open ? t.open(m) : {}; }
  async lookup(n: string) { return (await this.resolve()).lookup?.(n); }
  async list() { return (await this.resolve()).list?.() ?? []; }
  async create(r: CreateRequest) { const t = await this.resolve(); if (!t.create) throw E.perm; return t.create(r); }
  async unlink(n: string) { const t = await this.resolve(); if (!t.unlink) throw E.perm; return t.unlink(n); }
  async rename(o: string, d: Node, n: string) { const t = await this.resolve(); if (!t.rename) throw E.perm; return t.rename(o, d === this ? t : await resolveTarget(d), n); }
  async statfs() { const t = await this.resolve(); if (!t.statfs) throw E.notSupported; return t.statfs(); }
  async symlink(n: string, target: string, owner: { nUid: number; nGid: number }) { const t = await this.resolve(); if (!t.symlink) throw E.notSupported; return t.symlink(n, target, owner); }
  async readlink() { const t = await this.resolve(); if (!t.readlink) throw E.notSupported; return t.readlink(); }
  async link(n: string, target: Node) { const t = await this.resolve(); if (!t.link) throw E.notSupported; return t.link(n, await resolveTarget(target)); }
}

/** The node behind another attach point (or `node` itself); aliases are the tree's own business. */
async function resolveTarget(node: Node): Promise<Node> {
  return node instanceof AttachPoint ? node.resolve() : node;
}
