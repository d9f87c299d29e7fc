// What the dashboard's server sends its page and back: the views of the node (plain JSON, built
// from ctx.host by view.ts) and the WebSocket messages. Self-contained on purpose (no imports):
// the page's own type check (client/tsconfig.json, DOM types) reads this file too, and the
// server's build of these views from the host's types keeps the two in step.

export interface ErrorView {
  code: string;
  message: string;
  stack: string;
  at: string;
  /** `file:line:col` in the module's folder where it was thrown, when the host knows it. */
  where: string | null;
}

export interface HealthView {
  ok: boolean;
  at: string;
  ms: number;
  detail?: unknown;
  error?: string;
}

export interface NodeView {
  node: string;
  role: string;
  pid: number;
  /** ISO time the node started. */
  startedAt: string;
  versions: { cheshire: string; node: string };
  publicKey: string | null;
  failsafe: ErrorView | null;
  configError: ErrorView | null;
  /** The dependency cycle the node refused (from failsafe or a refused reload), spelled `a -> b -> a`. */
  cycle: string[] | null;
  memory: { heapUsedMb: number; rssMb: number } | null;
  loopDelayP99Ms: number | null;
  stalls: number;
}

export interface RequirementView {
  service: string;
  range: string;
  policy: 'static' | 'dynamic';
  cardinality: '1' | '0..1' | '0..n' | '1..n';
  as: string;
  boundTo: string[];
}

export interface InstanceView {
  id: string;
  module: string;
  version: string;
  hash: string | null;
  dir: string;
  state: string;
  disabled: boolean;
  waitingFor: string[];
  restarts: number;
  reloads: number;
  /** Epoch ms the current run became active (server clock), or null when not running. */
  since: number | null;
  lastError: ErrorView | null;
  provides: string[];
  requires: RequirementView[];
  health: HealthView | null;
  stalls: number;
}

export interface GraphNode {
  id: string;
  kind: 'instance' | 'missing' | 'cycle';
  label: string;
}

export interface GraphEdge {
  /** The dependent. */
  from: string;
  /** The provider (or the missing service's node). */
  to: string;
  label: string;
  policy: 'static' | 'dynamic';
  cardinality: string;
  satisfied: boolean;
  cycle: boolean;
}

export interface GraphView {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export interface ReloadView {
  seq: number;
  id: string;
  module: string;
  at: string;
  trigger: string;
  kind: 'hot' | 'restart';
  ms: number;
  outcome: 'active' | 'refused' | 'failed';
  version: string;
  hash: string | null;
  error: ErrorView | null;
}

export interface LogView {
  time: number;
  level: number;
  module: string;
  msg: string;
  err?: { type?: string; message?: string; stack?: string; code?: string };
}

export interface ClusterNodeView {
  id: string;
  node: string;
  role: string;
  modules: string[];
  http: string | null;
  ninep: string | null;
  address: string;
  since: number;
  /** Whatever the seed's directory says of the node's health, when it carries it. */
  health: unknown;
  self: boolean;
}

export interface ClusterView {
  /** Where the directory comes from: this node's seed, or its seed-client's copy. */
  source: 'seed' | 'seed-client';
  seed: string | null;
  connected: boolean;
  version: number;
  nodes: ClusterNodeView[];
}

export interface Snapshot {
  t: 'snapshot';
  /** Server time, for uptimes on a page whose clock differs. */
  now: number;
  /** The page bundle's hash: a page running another one reloads itself. */
  client: string;
  auth: boolean;
  node: NodeView;
  instances: InstanceView[];
  graph: GraphView;
  reloads: ReloadView[];
  cluster: ClusterView | null;
}

export interface Delta {
  t: 'delta';
  now: number;
  node?: NodeView;
  upsert: InstanceView[];
  remove: string[];
  graph?: GraphView;
  reloads: ReloadView[];
  cluster?: ClusterView | null;
}

export interface LogsMessage {
  t: 'logs';
  id: string;
  /** true: `records` replace what the page holds (a new subscription). */
  reset: boolean;
  records: LogView[];
}

export interface ClientChanged {
  t: 'client';
  client: string;
}

export type ServerMessage = Snapshot | Delta | LogsMessage | ClientChanged;

/** Page -> server: follow one instance's log (null: none). */
export type ClientMessage = { t: 'logs'; id: string | null };

/** Revision list entry the API answers with (config revisions with the change from the one before). */
export interface RevisionView {
  rev: number;
  at: string;
  source: string;
  note?: string;
  config: Record<string, unknown>;
  diff: string;
}

export interface ConfigDoc {
  effective: Record<string, unknown>;
  override: Record<string, unknown>;
  schema: Record<string, unknown>;
  defaults: Record<string, unknown>;
}
