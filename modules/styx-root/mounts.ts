// Grafts the subtrees other modules mount (ctx.mount) into the node's tree, keeping it in step
// with the mount table: a new generation of a mount replaces the old node (fids on the old one
// get ESTALE), a gone mount disappears, and intermediate directories come and go with them.
import { NodeAlias, SynDir, type Mount, type Node } from 'cheshire/sdk';

/** A mounted subtree under its mount-point name, with the mount's generation. */
class MountPoint extends NodeAlias {
  constructor(name: string, target: Node, readonly generation: number) {
    super(name, target);
  }
}

export class MountGrafter {
  private readonly points = new Map<string, MountPoint>();
  /** Directories this grafter created to hold mount points. */
  private readonly made = new Set<SynDir>();

  constructor(private readonly root: SynDir, private readonly reserved: Set<string>, private readonly warn: (msg: string) => void) {}

  sync(mounts: Mount[]): void {
    const wanted = new Map(mounts.map((m) => [m.path, m]));
    for (const [path, point] of this.points) {
      const m = wanted.get(path);
      if (!m || m.generation !== point.generation) this.detach(path, point, true);
    }
    for (const m of mounts) if (!this.points.has(m.path)) this.attach(m);
  }

  private attach(m: Mount): void {
    const parts = m.path.split('/').filter(Boolean);
    if (this.reserved.has(parts[0]!)) {
      this.warn(`mount ${m.path} by ${m.owner} ignored: /${parts[0]} is the control tree's own`);
      return;
    }
    let dir = this.root;
    for (const part of parts.slice(0, -1)) {
      const next = dir.get(part);
      if (next instanceof SynDir) dir = next;
      else if (next) {
        this.warn(`mount ${m.path} by ${m.owner} ignored: ${part} is not a directory`);
        return;
      } else {
        const made = dir.add(new SynDir(part));
        this.made.add(made);
        dir = made;
      }
    }
    const name = parts.at(-1)!;
    if (dir.get(name)) {
      this.warn(`mount ${m.path} by ${m.owner} ignored: the path is taken`);
      return;
    }
    const point = new MountPoint(name, m.tree as Node, m.generation);
    dir.add(point);
    this.points.set(m.path, point);
  }

  private detach(path: string, point: MountPoint, withTarget: boolean): void {
    this.points.delete(path);
    const parts = path.split('/').filter(Boolean);
    const chain: SynDir[] = [this.root];
    for (const part of parts.slice(0, -1)) chain.push(chain.at(-1)!.get(part) as SynDir);
    chain.at(-1)!.remove(parts.at(-1)!);
    point.markRemoved(withTarget);
    // prune directories we made that are now empty, deepest first
    for (let i = chain.length - 1; i > 0; i--) {
      const d = chain[i]!;
      if (!this.made.has(d) || d.list().length) break;
      chain[i - 1]!.remove(d.name);
      this.made.delete(d);
    }
  }

  /** styx-root is stopping: its grafts go stale, the mounted subtrees stay for its next version. */
  dispose(): void {
    for (const [path, point] of this.points) this.detach(path, point, false);
  }
}
