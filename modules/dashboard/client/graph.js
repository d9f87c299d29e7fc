// The module graph: instances as boxes coloured by state, requirements as edges (dependent ->
// provider) labelled with policy and cardinality; a missing provider and a refused cycle in red.
// Laid out by dagre; instances with no edge at all are set in a grid below, so a node with many
// independent modules stays readable. The layout is recomputed only when the graph's shape changes.
import dagre from '@dagrejs/dagre';
import { html } from 'htm/preact';
import { useMemo, useRef } from 'preact/hooks';

/**
 * @typedef {import('../protocol.ts').GraphView} GraphView
 * @typedef {import('../protocol.ts').GraphNode} GraphNode
 * @typedef {import('../protocol.ts').GraphEdge} GraphEdge
 * @typedef {{ id: string, x: number, y: number, w: number, h: number }} Box
 * @typedef {{ e: GraphEdge, points: Array<{ x: number, y: number }>, lx: number, ly: number }} Line
 * @typedef {{ boxes: Map<string, Box>, lines: Line[], width: number, height: number }} Layout
 */

const H = 46;
const GAP = 24;
const CHAR = 7.2;
/** The graph shrinks to fit its card down to this scale; past it, the card scrolls. */
const MIN_SCALE = 0.8;

/** @param {GraphNode} n */
const boxWidth = (n) => Math.max(120, Math.ceil(Math.max(...n.label.split('\n').map((l) => l.length)) * CHAR) + 24);

/** @param {GraphView} g @returns {Layout} */
export function layout(g) {
  const linked = new Set(g.edges.flatMap((e) => [e.from, e.to]));
  /** @type {Map<string, Box>} */
  const boxes = new Map();
  /** @type {Line[]} */
  const lines = [];
  let width = 0;
  let height = 0;
  if (linked.size) {
    const d = new dagre.graphlib.Graph({ multigraph: true });
    d.setGraph({ rankdir: 'TB', nodesep: 28, ranksep: 64, edgesep: 16, marginx: 8, marginy: 8 });
    d.setDefaultEdgeLabel(() => ({}));
    for (const n of g.nodes) if (linked.has(n.id)) d.setNode(n.id, { width: boxWidth(n), height: H });
    g.edges.forEach((e, k) => d.setEdge(e.from, e.to, { label: e.label, width: e.label.length * 6.4, height: 14, labelpos: 'c' }, String(k)));
    dagre.layout(d);
    for (const id of d.nodes()) {
      const n = d.node(id);
      boxes.set(id, { id, x: n.x - n.width / 2, y: n.y - n.height / 2, w: n.width, h: n.height });
    }
    g.edges.forEach((e, k) => {
      const de = d.edge(e.from, e.to, String(k));
      lines.push({ e, points: de.points ?? [], lx: de.x ?? 0, ly: de.y ?? 0 });
    });
    width = d.graph().width ?? 0;
    height = (d.graph().height ?? 0) + GAP;
  }
  // The unlinked ones: a grid, as wide as the linked part (or a sensible row).
  const rest = g.nodes.filter((n) => !linked.has(n.id));
  const rowMax = Math.max(width, 900);
  let x = 8;
  let y = height + 8;
  for (const n of rest) {
    const w = boxWidth(n);
    if (x > 8 && x + w > rowMax) { x = 8; y += H + GAP; }
    boxes.set(n.id, { id: n.id, x, y, w, h: H });
    x += w + GAP;
    width = Math.max(width, x);
  }
  if (rest.length) height = y + H + 8;
  return { boxes, lines, width: Math.max(width, 200), height: Math.max(height, 60) };
}

/** @param {Array<{ x: number, y: number }>} pts */
function pathOf(pts) {
  if (!pts.length) return '';
  return pts.map((p, i) => `${i ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
}

/** The shape of the graph (what the layout depends on). @param {GraphView} g */
const shapeOf = (g) => JSON.stringify([g.nodes.map((n) => [n.id, n.label]), g.edges.map((e) => [e.from, e.to, e.label])]);

/**
 * Each box is cached as a vnode keyed by what it shows (state, selection, place): preact skips an
 * unchanged vnode, so a state change re-renders one box, not a thousand.
 * @param {{ graph: GraphView, states: Map<string, string>, selected: string | null, onSelect: (id: string) => void }} props
 */
export function Graph({ graph, states, selected, onSelect }) {
  const shape = shapeOf(graph);
  const lay = useMemo(() => layout(graph), [shape]);
  const cache = useRef(/** @type {Map<string, { key: string, vnode: import('preact').VNode }>} */ (new Map()));
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const edges = useMemo(() => lay.lines.map((l) => {
    const bad = !l.e.satisfied || l.e.cycle;
    const cls = `edge ${l.e.policy} ${l.e.satisfied ? '' : 'unsatisfied'} ${l.e.cycle ? 'cycle' : ''}`;
    return html`<g class=${cls} data-edge=${`${l.e.from}->${l.e.to}`} key=${`${l.e.from}->${l.e.to}:${l.e.label}`}>
      <path d=${pathOf(l.points)} marker-end=${bad ? 'url(#arrow-bad)' : 'url(#arrow)'} />
      <text x=${l.lx} y=${l.ly + 4} text-anchor="middle" class="edge-label">${l.e.label}</text>
    </g>`;
  }), [lay]);
  const boxes = [...lay.boxes.values()].map((b) => {
    const n = byId.get(b.id);
    if (!n) return null;
    const state = n.kind === 'instance' ? states.get(n.id) ?? 'planned' : n.kind;
    const key = `${state}|${selected === n.id}|${b.x},${b.y},${b.w}|${n.label}`;
    const hit = cache.current.get(n.id);
    if (hit && hit.key === key) return hit.vnode;
    const [title, sub] = n.label.split('\n');
    const click = n.kind === 'instance' ? () => onSelect(n.id) : undefined;
    const vnode = html`<g class="node kind-${n.kind} state-${state} ${selected === n.id ? 'selected' : ''}" data-node=${n.id} data-state=${state}
        transform="translate(${b.x},${b.y})" onClick=${click} key=${n.id}>
      <title>${n.id}: ${state}</title>
      <rect width=${b.w} height=${b.h} rx="7" />
      <text x=${b.w / 2} y="19" text-anchor="middle" class="node-title">${title}</text>
      <text x=${b.w / 2} y="35" text-anchor="middle" class="node-sub">${sub ?? ''}${n.kind === 'instance' ? ` · ${state}` : ''}</text>
    </g>`;
    cache.current.set(n.id, { key, vnode });
    return vnode;
  });
  if (cache.current.size > byId.size * 2) for (const id of cache.current.keys()) if (!byId.has(id)) cache.current.delete(id);
  return html`
    <div class="graph-wrap">
      <svg class="graph" viewBox="0 0 ${lay.width} ${lay.height}" width=${lay.width} height=${lay.height} style=${{ minWidth: `${Math.round(lay.width * MIN_SCALE)}px` }}
        role="img" aria-label="module graph" data-nodes=${graph.nodes.length} data-edges=${graph.edges.length}>
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
          </marker>
          <marker id="arrow-bad" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="arrowhead bad" />
          </marker>
        </defs>
        ${edges}
        ${boxes}
      </svg>
    </div>`;
}
