// A node that stands for another under its own name, with its own "removed" flag: the grafting
// of a subtree into another tree (styx-root's mount points, styx-provider's mirrors). Marking an
// alias removed makes it answer ESTALE without touching the subtree it stands for, which may
// still be grafted elsewhere; `withTarget` also marks the target (its owner is gone).
import { E } from '../errors.ts';
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
  rename(o: string, d: Node, n: string) { const t = this.live(); if (!t.rename) throw E.perm; return t.rename(o, d === this ? t : d, n); }
  statfs() { const t = this.live(); if (!t.statfs) throw E.notSupported; return t.statfs(); }
}
