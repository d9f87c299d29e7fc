// The nodes the seed knows (from this node's seed, or its seed-client's copy of the directory),
// and a remote node's own view read through its 9P tree: its /status, a module's status, log,
// config, revisions, dependencies and versions, and the same ctl commands.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getText, post, remoteNode } from './api.js';
import { clock } from './format.js';

/**
 * @typedef {import('../protocol.ts').ClusterView} ClusterView
 * @typedef {import('../protocol.ts').ClusterNodeView} ClusterNodeView
 */

const FILES = ['status', 'log', 'config', 'revisions', 'deps', 'history'];

/** @param {unknown} h */
function healthText(h) {
  if (h === null || h === undefined) return '–';
  if (typeof h === 'object' && 'ok' in /** @type {object} */ (h)) return /** @type {{ ok: boolean }} */ (h).ok ? 'ok' : 'failing';
  return String(h);
}

/** @param {{ node: ClusterNodeView }} props */
function RemoteNode({ node }) {
  const [status, setStatus] = useState('');
  const [module, setModule] = useState(/** @type {string | null} */ (null));
  const [file, setFile] = useState('status');
  const [text, setText] = useState('');
  const [note, setNote] = useState('');
  const base = remoteNode(node.id);
  const refresh = () => {
    setNote('');
    getText(`${base}/status`).then(setStatus).catch((/** @type {Error} */ e) => setStatus(e.message));
  };
  useEffect(refresh, [node.id]);
  useEffect(() => {
    if (!module) return;
    let live = true;
    setText('reading…');
    getText(`${base}/modules/${encodeURIComponent(module)}/${file}`).then((/** @type {string} */ t) => live && setText(t)).catch((/** @type {Error} */ e) => live && setText(e.message));
    return () => { live = false; };
  }, [node.id, module, file]);
  const modules = status.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter((m) => m && node.modules.includes(m));
  /** @param {string} command */
  const ctl = async (command) => {
    setNote(`${command}…`);
    try {
      const r = await post(`${base}/ctl`, { path: `modules/${module}/ctl`, command });
      setNote(`${command}: ${r.answer.trim() || 'ok'}`);
      refresh();
    } catch (e) {
      setNote(/** @type {Error} */ (e).message);
    }
  };
  return html`
    <div class="remote" data-testid="remote-node">
      <h3>${node.node} <span class="muted">through its 9P tree at ${node.ninep}</span> <button class="small ghost" onClick=${refresh}>refresh</button></h3>
      <pre class="remote-status">${status || 'reading…'}</pre>
      <div class="row">
        ${modules.map((m) => html`<button class="small ${m === module ? 'on' : 'ghost'}" onClick=${() => setModule(m)}>${m}</button>`)}
      </div>
      ${module ? html`
        <div class="row">
          ${FILES.map((f) => html`<button class="tab ${f === file ? 'on' : ''}" onClick=${() => setFile(f)}>${f}</button>`)}
          <span class="spacer"></span>
          ${['reload', 'stop', 'start', 'test'].map((c) => html`<button class="small" onClick=${() => ctl(c)}>${c}</button>`)}
        </div>
        ${note ? html`<pre class="result">${note}</pre>` : null}
        <pre class="remote-file">${text}</pre>` : null}
    </div>`;
}

/** @param {{ cluster: ClusterView | null }} props */
export function Cluster({ cluster }) {
  const [open, setOpen] = useState(/** @type {string | null} */ (null));
  if (!cluster) return html`<p class="muted">This node runs neither a seed nor a seed-client, so it knows no cluster.</p>`;
  const chosen = cluster.nodes.find((n) => n.id === open) ?? null;
  return html`
    <p class="muted">Directory v${cluster.version} from ${cluster.source === 'seed' ? 'this node\'s seed' : `the seed at ${cluster.seed}`}
      ${cluster.source === 'seed-client' ? html` · <span class=${cluster.connected ? 'ok-text' : 'err-text'}>${cluster.connected ? 'connected' : 'not connected'}</span>` : null}</p>
    <table class="instances" data-testid="cluster">
      <thead><tr><th>node</th><th>role</th><th>modules</th><th>health</th><th>http</th><th>9P</th><th>since</th><th></th></tr></thead>
      <tbody>${cluster.nodes.map((n) => html`
        <tr key=${n.id} data-node=${n.node} class=${open === n.id ? 'selected' : ''}>
          <td class="id">${n.node}${n.self ? html` <span class="badge">this node</span>` : null}</td>
          <td>${n.role}</td><td title=${n.modules.join(', ')}>${n.modules.length}</td><td>${healthText(n.health)}</td>
          <td class="mono">${n.http ?? '–'}</td><td class="mono">${n.ninep ?? '–'}</td><td>${clock(n.since)}</td>
          <td>${n.ninep && !n.self ? html`<button class="small" onClick=${() => setOpen(open === n.id ? null : n.id)}>${open === n.id ? 'close' : 'open'}</button>` : null}</td>
        </tr>`)}
      </tbody>
    </table>
    ${chosen ? html`<${RemoteNode} node=${chosen} />` : null}`;
}
