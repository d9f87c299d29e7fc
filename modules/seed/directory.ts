// The routing directory: the live nodes (by public key) and, derived from them, which nodes serve
// each Host/path prefix. Every change bumps the version; the snapshot is what subscribers get.
import type { Directory, DirectoryNode, DirectoryRoute } from './protocol.ts';

export class DirectoryState {
  private readonly nodes = new Map<string, DirectoryNode>();
  private version = 0;
  private cached: Directory | null = null;

  get size(): number { return this.nodes.size; }

  get(id: string): DirectoryNode | undefined { return this.nodes.get(id); }

  /** Adds or replaces a node's entry. */
  upsert(node: DirectoryNode): void {
    this.nodes.set(node.id, node);
    this.changed();
  }

  remove(id: string): boolean {
    if (!this.nodes.delete(id)) return false;
    this.changed();
    return true;
  }

  private changed(): void {
    this.version++;
    this.cached = null;
  }

  snapshot(): Directory {
    if (this.cached) return this.cached;
    const nodes = [...this.nodes.values()].sort((a, b) => a.node.localeCompare(b.node) || a.id.localeCompare(b.id));
    const routes = new Map<string, DirectoryRoute>();
    for (const n of nodes) {
      for (const r of n.routes) {
        const http = (r.http ?? n.http)?.replace(/\/$/, '');
        if (!http) continue;
        const key = `${r.host}\0${r.prefix}`;
        let route = routes.get(key);
        if (!route) routes.set(key, (route = { host: r.host, prefix: r.prefix, nodes: [] }));
        route.nodes.push({ id: n.id, node: n.node, http });
      }
    }
    const list = [...routes.values()].sort((a, b) => a.host.localeCompare(b.host) || b.prefix.length - a.prefix.length || a.prefix.localeCompare(b.prefix));
    this.cached = { version: this.version, nodes, routes: list };
    return this.cached;
  }
}
