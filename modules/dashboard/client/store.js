// The page's state, fed by the live WebSocket: a snapshot on (re)connect, then deltas; the log
// tail of the instance the page follows. Reconnects with backoff, so the page survives the node's
// and the dashboard's own restarts and resyncs from the next snapshot.
import { useEffect, useState } from 'preact/hooks';

/**
 * @typedef {import('../protocol.ts').Snapshot} Snapshot
 * @typedef {import('../protocol.ts').ServerMessage} ServerMessage
 * @typedef {import('../protocol.ts').InstanceView} InstanceView
 * @typedef {import('../protocol.ts').ReloadView} ReloadView
 * @typedef {import('../protocol.ts').LogView} LogView
 * @typedef {import('../protocol.ts').NodeView} NodeView
 * @typedef {import('../protocol.ts').GraphView} GraphView
 * @typedef {import('../protocol.ts').ClusterView} ClusterView
 *
 * @typedef {object} State
 * @property {'connecting' | 'live' | 'reconnecting'} link
 * @property {boolean} synced  a snapshot arrived since the last (re)connect
 * @property {number} skew     server clock minus page clock, ms
 * @property {boolean} auth
 * @property {NodeView | null} node
 * @property {InstanceView[]} instances
 * @property {GraphView} graph
 * @property {ReloadView[]} reloads  newest last
 * @property {ClusterView | null} cluster
 * @property {{ id: string, records: LogView[] } | null} logs
 * @property {number} updates  messages applied (the benchmark reads it)
 */

const MAX_RELOADS = 300;
const MAX_LOGS = 2000;

/** @type {State} */
let state = {
  link: 'connecting', synced: false, skew: 0, auth: false, node: null, instances: [], graph: { nodes: [], edges: [] },
  reloads: [], cluster: null, logs: null, updates: 0,
};
/** @type {Set<() => void>} */
const listeners = new Set();
/** @type {WebSocket | null} */
let socket = null;
/** @type {string | null} */
let following = null;
let backoff = 200;

/** @param {Partial<State>} patch */
function set(patch) {
  state = { ...state, ...patch };
  for (const fn of listeners) fn();
}

export const getState = () => state;

/** Subscribes a component to the store. */
export function useStore() {
  const [, bump] = useState(0);
  useEffect(() => {
    const fn = () => bump((n) => n + 1);
    listeners.add(fn);
    return () => { listeners.delete(fn); };
  }, []);
  return state;
}

/** @param {ReloadView[]} have @param {ReloadView[]} more */
function mergeReloads(have, more) {
  const last = have.length ? have[have.length - 1].seq : 0;
  const fresh = more.filter((e) => e.seq > last);
  if (!fresh.length) return have;
  const all = have.concat(fresh);
  return all.length > MAX_RELOADS ? all.slice(all.length - MAX_RELOADS) : all;
}

/** @param {ServerMessage} msg */
function apply(msg) {
  const updates = state.updates + 1;
  if (msg.t === 'snapshot') {
    const own = document.getElementById('app')?.dataset.client;
    if (own && msg.client !== own) { location.reload(); return; }
    set({
      synced: true, skew: msg.now - Date.now(), auth: msg.auth, node: msg.node, instances: msg.instances, graph: msg.graph,
      reloads: msg.reloads.slice(-MAX_RELOADS), cluster: msg.cluster, updates,
    });
    if (following) send({ t: 'logs', id: following });
    return;
  }
  if (msg.t === 'delta') {
    /** @type {Map<string, InstanceView>} */
    const byId = new Map(state.instances.map((i) => [i.id, i]));
    for (const id of msg.remove) byId.delete(id);
    for (const i of msg.upsert) byId.set(i.id, i);
    /** @type {Partial<State>} */
    const patch = { skew: msg.now - Date.now(), instances: [...byId.values()], reloads: mergeReloads(state.reloads, msg.reloads), updates };
    if (msg.node) patch.node = msg.node;
    if (msg.graph) patch.graph = msg.graph;
    if (msg.cluster !== undefined) patch.cluster = msg.cluster;
    set(patch);
    return;
  }
  if (msg.t === 'logs') {
    if (msg.id !== following) return;
    const have = !msg.reset && state.logs && state.logs.id === msg.id ? state.logs.records : [];
    const records = have.concat(msg.records);
    set({ logs: { id: msg.id, records: records.length > MAX_LOGS ? records.slice(records.length - MAX_LOGS) : records }, updates });
    return;
  }
  if (msg.t === 'client') location.reload();
}

/** @param {import('../protocol.ts').ClientMessage} msg */
function send(msg) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

/** Follows one instance's log tail (null: none). */
export function followLogs(/** @type {string | null} */ id) {
  if (id === following) return;
  following = id;
  set({ logs: id ? { id, records: [] } : null });
  send({ t: 'logs', id });
}

/** A socket refused before it opened: if the session is gone (token changed, signed out), go sign in. */
async function checkSession() {
  try {
    const res = await fetch('/', { redirect: 'manual', credentials: 'same-origin' });
    if (res.type === 'opaqueredirect' || res.status === 401) location.href = '/login';
  } catch { /* the node is away: keep retrying */ }
}

export function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`);
  let opened = false;
  socket = ws;
  ws.onopen = () => { opened = true; backoff = 200; set({ link: 'live' }); };
  ws.onmessage = (ev) => apply(JSON.parse(String(ev.data)));
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    socket = null;
    set({ link: 'reconnecting', synced: false });
    // 1012: the dashboard is reloading; come back at once.
    const wait = ev.code === 1012 ? 50 : backoff;
    backoff = Math.min(backoff * 2, 3000);
    if (!opened && state.auth) void checkSession();
    setTimeout(connect, wait);
  };
}
