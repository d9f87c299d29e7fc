// The module graph the page lays out: a node per instance, an edge per binding (dependent ->
// provider) labelled with the requirement's policy and cardinality, a "missing" node for each
// mandatory requirement nothing satisfies, and the refused cycle, drawn with its own nodes where
// they are not instances of the running graph. States are not part of it (the page colours the
// boxes from the instances), so the graph is sent again only when its shape changes.
import type { GraphEdge, GraphNode, GraphView, InstanceView } from './protocol.ts';

const mandatory = (card: string) => card === '1' || card === '1..n';

export function graphView(instances: readonly InstanceView[], cycle: readonly string[] | null): GraphView {
  const nodes: GraphNode[] = instances.map((i) => ({ id: i.id, kind: 'instance', label: `${i.id}\nv${i.version}` }));
  const known = new Set(nodes.map((n) => n.id));
  const edges: GraphEdge[] = [];
  for (const i of instances) {
    for (const r of i.requires) {
      const label = `${r.policy} ${r.cardinality}`;
      const bound = r.boundTo.filter((to) => known.has(to));
      for (const to of bound) edges.push({ from: i.id, to, label, policy: r.policy, cardinality: r.cardinality, satisfied: true, cycle: false });
      if (bound.length === 0 && mandatory(r.cardinality)) {
        const id = `missing:${r.service}@${r.range}`;
        if (!known.has(id)) {
          known.add(id);
          nodes.push({ id, kind: 'missing', label: `${r.service} ${r.range}\nmissing` });
        }
        edges.push({ from: i.id, to: id, label, policy: r.policy, cardinality: r.cardinality, satisfied: false, cycle: false });
      }
    }
  }
  if (cycle) {
    for (let k = 0; k + 1 < cycle.length; k++) {
      const from = cycle[k]!;
      const to = cycle[k + 1]!;
      for (const id of [from, to]) {
        if (!known.has(id)) {
          known.add(id);
          nodes.push({ id, kind: 'cycle', label: `${id}\nin a cycle` });
        }
      }
      const existing = edges.find((e) => e.from === from && e.to === to);
      if (existing) existing.cycle = true;
      else edges.push({ from, to, label: 'cycle', policy: 'static', cardinality: '1', satisfied: false, cycle: true });
    }
  }
  return { nodes, edges };
}
