// Pure graph helpers over instance ids: the cycle finder (reports `a -> b -> a`) and the
// topological order in which providers start before their dependents.

/** edges: id -> ids it depends on. Returns the first cycle found as a path, or null. */
export function findCycle(edges: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | null => {
    if (state.get(id) === 'done') return null;
    if (state.get(id) === 'open') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'open');
    path.push(id);
    for (const dep of edges.get(id) ?? []) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return null;
  };
  for (const id of [...edges.keys()].sort()) {
    const cycle = visit(id);
    if (cycle) return cycle;
  }
  return null;
}

/** Providers first. Ids in a cycle keep their relative input order at the end. */
export function topoOrder(ids: string[], edges: Map<string, string[]>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const onStack = new Set<string>();
  const visit = (id: string) => {
    if (seen.has(id) || onStack.has(id)) return;
    onStack.add(id);
    for (const dep of edges.get(id) ?? []) if (ids.includes(dep)) visit(dep);
    onStack.delete(id);
    seen.add(id);
    out.push(id);
  };
  for (const id of ids) visit(id);
  return out;
}

/** Every id that depends on `root`, directly or through others (not including root). */
export function dependentsOf(root: string, edges: Map<string, string[]>): Set<string> {
  const result = new Set<string>();
  let frontier = [root];
  while (frontier.length) {
    const next: string[] = [];
    for (const [id, deps] of edges) {
      if (!result.has(id) && id !== root && deps.some((d) => frontier.includes(d))) {
        result.add(id);
        next.push(id);
      }
    }
    frontier = next;
  }
  return result;
}
