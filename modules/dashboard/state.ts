// What the page is told, and what changed since it was last told: a full snapshot for a page that
// connects, then deltas (instances upserted or removed, the node header, the graph, new timeline
// entries, the cluster) against the last state broadcast. A delta replaces whole objects and the
// page drops timeline entries it already has, so a delta applied to a snapshot newer than its
// base is still right.
import type { HostControl } from 'cheshire/sdk';
import { graphView } from './graph.ts';
import type { ClusterView, Delta, InstanceView, Snapshot } from './protocol.ts';
import { instanceKey, instanceView, nodeView, reloadView } from './view.ts';

interface Baseline {
  node: string;
  instances: Map<string, string>;
  graph: string;
  reloadSeq: number;
  cluster: string;
}

export interface StateOptions {
  /** Timeline entries a snapshot carries. */
  timeline: number;
  cluster: () => ClusterView | null;
}

export class StateTracker {
  private base: Baseline | null = null;

  constructor(private readonly host: HostControl, private readonly o: StateOptions) {}

  private read() {
    const now = Date.now();
    const status = this.host.status();
    const reloads = this.host.reloads();
    const instances = status.instances.map((i) => instanceView(i, now));
    const node = nodeView(status, reloads);
    const graph = graphView(instances, node.cycle);
    return { now, node, instances, graph, reloads, cluster: this.o.cluster() };
  }

  private baseline(r: ReturnType<StateTracker['read']>): Baseline {
    return {
      node: JSON.stringify(r.node),
      instances: new Map(r.instances.map((v) => [v.id, instanceKey(v)])),
      graph: JSON.stringify(r.graph),
      reloadSeq: r.reloads.at(-1)?.seq ?? 0,
      cluster: JSON.stringify(r.cluster),
    };
  }

  snapshot(client: string, auth: boolean): Snapshot {
    const r = this.read();
    this.base ??= this.baseline(r);
    return {
      t: 'snapshot', now: r.now, client, auth, node: r.node, instances: r.instances, graph: r.graph,
      reloads: r.reloads.slice(-this.o.timeline).map(reloadView), cluster: r.cluster,
    };
  }

  /** What changed since the last delta (or snapshot), or null when nothing did. */
  delta(): Delta | null {
    const r = this.read();
    const prev = this.base;
    const next = this.baseline(r);
    this.base = next;
    if (!prev) return null;
    const upsert: InstanceView[] = r.instances.filter((v) => prev.instances.get(v.id) !== next.instances.get(v.id));
    const remove = [...prev.instances.keys()].filter((id) => !next.instances.has(id));
    const reloads = r.reloads.filter((e) => e.seq > prev.reloadSeq).slice(-this.o.timeline).map(reloadView);
    const d: Delta = { t: 'delta', now: r.now, upsert, remove, reloads };
    if (prev.node !== next.node) d.node = r.node;
    if (prev.graph !== next.graph) d.graph = r.graph;
    if (prev.cluster !== next.cluster) d.cluster = r.cluster;
    const changed = upsert.length || remove.length || reloads.length || d.node || d.graph || d.cluster !== undefined;
    return changed ? d : null;
  }

  /** Forget the baseline (no page is connected: nothing to compare against). */
  reset(): void {
    this.base = null;
  }
}
