// The nodes the seed knows: the directory of the seed on this node (a seed node sees it first
// hand), else the copy this node's seed-client keeps (pushed by its seed). Both are optional
// dynamic dependencies, so a node without them shows no cluster and starts nothing for it.
import type { Dynamic } from 'cheshire/sdk';
import type { Seed } from '../seed/index.ts';
import type { SeedClient } from '../seed-client/index.ts';
import type { Directory } from '../seed/protocol.ts';
import type { ClusterNodeView, ClusterView } from './protocol.ts';

export interface ClusterDeps {
  seed?: Dynamic<Seed>;
  seedClient?: Dynamic<SeedClient>;
}

type Source = { kind: 'seed'; svc: Seed } | { kind: 'seed-client'; svc: SeedClient };

export class Cluster {
  private subscribed: { svc: object; off: () => void } | null = null;

  constructor(private readonly deps: ClusterDeps, private readonly selfKey: string | null, private readonly changed: () => void) {
    this.sync();
  }

  private source(): Source | null {
    const seed = this.deps.seed?.$current;
    if (seed) return { kind: 'seed', svc: seed };
    const client = this.deps.seedClient?.$current;
    return client ? { kind: 'seed-client', svc: client } : null;
  }

  /** Follows the directory of whichever source is current (called on bind/unbind and on every read). */
  sync(): void {
    const src = this.source();
    if (this.subscribed && this.subscribed.svc === src?.svc) return;
    this.subscribed?.off();
    this.subscribed = null;
    if (src) this.subscribed = { svc: src.svc, off: src.svc.onDirectory(() => this.changed()) };
  }

  view(): ClusterView | null {
    this.sync();
    const src = this.source();
    if (!src) return null;
    const dir: Directory | null = src.kind === 'seed' ? src.svc.directory() : src.svc.directory();
    const nodes: ClusterNodeView[] = (dir?.nodes ?? []).map((n) => ({
      id: n.id, node: n.node, role: n.role, modules: n.modules, http: n.http, ninep: n.ninep,
      address: n.address, since: n.since, health: (n as { health?: unknown }).health ?? null, self: n.id === this.selfKey,
    }));
    return {
      source: src.kind,
      seed: src.kind === 'seed' ? src.svc.url() : src.svc.seed(),
      connected: src.kind === 'seed' ? true : src.svc.connected(),
      version: dir?.version ?? 0,
      nodes,
    };
  }

  /** A node of the directory by its key or name. */
  find(idOrName: string): ClusterNodeView | undefined {
    return this.view()?.nodes.find((n) => n.id === idOrName || n.node === idOrName);
  }

  close(): void {
    this.subscribed?.off();
    this.subscribed = null;
  }
}
