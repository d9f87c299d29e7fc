// A node that stands for another under its own name, with its own "removed" flag: the grafting
// of a subtree into another tree (styx-root's mount points, styx-provider's mirrors). Marking an
// alias removed makes it answer ESTALE without touching the subtree it stands for, which may
// still be grafted elsewhere; `withTarget` also marks the target (its owner is gone).
import { E } from '../errors.ts';
import { AttachPoint } from './attach-point.ts';
import type { AttrChange, CreateRequest, Node, OpenMode } from './types.ts';

export class NodeAlias implements Node {
  private gone = false;
  constructor(readonly name: string, readonly target: Node) {}
  get qid() { return this.target.qid; }
  get removed() { return this.gone || this.target.removed === true; }

  markRemoved(withTarget = false): void {
    this.gone = true;
    if (withTarget) (this.target as { markRemoved?: () => void }).markRemoved?.();
  }

  private live(): Node {
    if (this.removed) throw E.removed;
    return this.target;
  }

  getattr() { return this.live().getattr(); }
  setattr(c: AttrChange) { const t = this.live(); if (!t.setattr) throw E.notSupported; return t.setattr(c); }
  open(m: OpenMode) { const t = this.live(); return t.open ? t.open(m) : {}; }
  lookup(n: string) { return this.live().lookup?.(n); }
  list() { return this.live().list?.() ?? []; }
  create(r: CreateRequest) { const t = this.live(); if (!t.create) throw E.perm; return t.create(r); }
  unlink(n: string) { const t = this.live(); if (!t.unlink) throw E.perm; return t.unlink(n); }
  async rename(o: string, d: Node, n: string) { const t = this.live(); if (!t.rename) throw E.perm; return t.rename(o, await resolveNode(d), n); }
  statfs() { const t = this.live(); if (!t.statfs) throw E.notSupported; return t.statfs(); }
  symlink(n: string, target: string, owner: { nUid: number; nGid: number }) { const t = this.live(); if (!t.symlink) throw E.notSupported; return t.symlink(n, target, owner); }
  readlink() { const t = this.live(); if (!t.readlink) throw E.notSupported; return t.readlink(); }
  async link(n: string, target: Node) { const t = this.live(); if (!t.link) throw E.notSupported; return t.link(n, await resolveNode(target)); }
}

/**
 * The node an alias stands for (through aliases of aliases): what a tree's rename and link are
 * given as the other directory, so a move between an export's top (reached through its mount
 * point) and its subdirectories stays inside one tree instead of answering EXDEV.
 */
export function unalias(node: Node): Node {
  if (node instanceof AttachPoint) throw new TypeError('unalias: an attach point resolves asynchronously (use resolveNode)');
  let n = node;
  for (let depth = 0; n instanceof NodeAlias && depth < 16; depth++) {
    if (n.removed) throw E.removed;
    n = n.target;
  }
  return n;
}

/** unalias, also through an attach point (which walks its path again after a tree switch). */
export async function resolveNode(node: Node): Promise<Node> {
  let n = node;
  for (let depth = 0; depth < 16; depth++) {
    if (n instanceof AttachPoint) n = await n.resolve();
    else if (n instanceof NodeAlias) n = unalias(n);
    else return n;
  }
  return n;
}
