// /modules/M/source: the instance's module folder, read-only, without node_modules and dot-files
// (what another node's `cheshire install HOST:PORT/modules/M` copies; it installs the
// dependencies itself). The export is made again if the instance now runs from another folder,
// and retired (fids answer ESTALE, its directory fds are closed) when this node leaves the tree.
import { E, exportTree, SynDir, type Attr, type Handle, type MaybePromise, type Node, type OpenMode, type StatFs } from 'cheshire/sdk';

type Export = ReturnType<typeof exportTree>;

/** Names the source view leaves out, at every depth. */
export const hiddenInSource = (name: string): boolean => name.startsWith('.') || name === 'node_modules';

const then = <T, U>(v: MaybePromise<T>, f: (t: T) => U): MaybePromise<U> => (v instanceof Promise ? v.then(f) : f(v));

/** A node of the export seen through the filter: its listings and lookups skip hidden names. */
class Filtered implements Node {
  constructor(private readonly inner: Node) {}
  get name() { return this.inner.name; }
  get qid() { return this.inner.qid; }
  get removed() { return this.inner.removed === true; }
  getattr(): MaybePromise<Attr> { return this.inner.getattr(); }
  open(mode: OpenMode): MaybePromise<Handle> { return this.inner.open ? this.inner.open(mode) : {}; }
  lookup(name: string): MaybePromise<Node | undefined> { return lookupIn(this.inner, name); }
  list(): MaybePromise<readonly Node[]> { return listOf(this.inner); }
  readlink(): MaybePromise<string> { return this.inner.readlink!(); }
  statfs(): MaybePromise<StatFs> { return this.inner.statfs!(); }
}

function lookupIn(dir: Node, name: string): MaybePromise<Node | undefined> {
  if (hiddenInSource(name) || !dir.lookup) return undefined;
  return then(dir.lookup(name), (c) => (c ? new Filtered(c) : undefined));
}

function listOf(dir: Node): MaybePromise<readonly Node[]> {
  if (!dir.list) return [];
  return then(dir.list(), (cs) => cs.filter((c) => !hiddenInSource(c.name)).map((c) => new Filtered(c)));
}

export class SourceDir extends SynDir {
  private exp: { dir: string; root: Export } | undefined;

  /** `dirOf` answers the instance's current module folder (ctx.host.sourceDir). */
  constructor(private readonly dirOf: () => string) {
    super('source');
  }

  private target(): Export {
    if (this.removed) throw E.removed;
    let dir: string;
    try {
      dir = this.dirOf();
      if (this.exp?.dir !== dir) {
        const root = exportTree(dir);
        this.exp?.root.markRemoved();
        this.exp = { dir, root };
      }
    } catch {
      throw E.removed; // the instance or its folder is gone
    }
    return this.exp.root;
  }

  // SynDir answers these synchronously; the export may answer with a promise, which the session
  // accepts from any Node (fs/tree/types.ts), hence the wider return type.
  override lookup(name: string): any {
    return lookupIn(this.target(), name);
  }

  override list(): any {
    return listOf(this.target());
  }

  override markRemoved(): void {
    super.markRemoved();
    this.exp?.root.markRemoved();
    this.exp = undefined;
  }
}
