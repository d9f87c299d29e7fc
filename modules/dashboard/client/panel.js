// One instance, in a side panel: status, health, its last error, what it requires and who uses
// it, its metrics; its live log, config editor, config revisions and code versions; and the
// actions reload / stop / start / test / rollback.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getText, inst, post } from './api.js';
import { ConfigEditor } from './config.js';
import { errorWhere, messageOf, shortHash, shortPath } from './format.js';
import { healthBadge } from './instances.js';
import { Logs } from './logs.js';
import { History, Revisions } from './revisions.js';
import { followLogs } from './store.js';
import { Uptime } from './ticker.js';

/**
 * @typedef {import('../protocol.ts').InstanceView} InstanceView
 * @typedef {import('./store.js').State} State
 */

const TABS = ['overview', 'log', 'config', 'revisions', 'versions'];

/** @param {{ id: string }} props */
function Metrics({ id }) {
  const [lines, setLines] = useState(/** @type {string[] | null} */ (null));
  useEffect(() => {
    let live = true;
    const needle = `"${id}"`;
    getText('/metrics')
      .then((/** @type {string} */ t) => live && setLines(t.split('\n').filter((l) => !l.startsWith('#') && l.includes(needle))))
      .catch(() => live && setLines([]));
    return () => { live = false; };
  }, [id]);
  if (lines === null) return html`<p class="muted">loading metrics…</p>`;
  if (!lines.length) return html`<p class="muted">No metrics labelled with this instance.</p>`;
  return html`<pre class="metrics" data-testid="metrics">${lines.slice(0, 80).join('\n')}</pre>`;
}

/** @param {{ i: InstanceView, all: InstanceView[] }} props */
function Overview({ i, all }) {
  const users = all.filter((o) => o.requires.some((r) => r.boundTo.includes(i.id)));
  const where = errorWhere(i.lastError);
  return html`
    <dl class="facts-grid">
      <dt>state</dt><dd><span class="state state-${i.state}" data-testid="panel-state">${i.state}</span></dd>
      <dt>version</dt><dd class="mono">${i.version} ${shortHash(i.hash)}</dd>
      <dt>uptime</dt><dd><${Uptime} since=${i.since} /></dd>
      <dt>restarts</dt><dd>${i.restarts}</dd>
      <dt>reloads</dt><dd>${i.reloads}</dd>
      <dt>health</dt><dd>${healthBadge(i)} ${i.health ? html`<span class="muted">${i.health.ms} ms, ${i.health.at}</span>` : null}</dd>
      ${i.stalls ? html`<dt>stalls</dt><dd>${i.stalls}</dd>` : null}
      <dt>folder</dt><dd class="mono">${shortPath(i.dir)}</dd>
      <dt>provides</dt><dd>${i.provides.join(', ') || '–'}</dd>
      <dt>used by</dt><dd>${users.map((u) => u.id).join(', ') || '–'}</dd>
    </dl>
    ${i.waitingFor.length ? html`<p class="warn-text">waiting for ${i.waitingFor.join(', ')}</p>` : null}
    ${i.requires.length ? html`
      <table class="small-table">
        <thead><tr><th>requires</th><th>range</th><th>policy</th><th>card.</th><th>bound to</th></tr></thead>
        <tbody>${i.requires.map((r) => html`<tr class=${r.boundTo.length ? '' : r.cardinality.startsWith('1') ? 'missing' : 'muted'}>
          <td>${r.service}</td><td>${r.range}</td><td>${r.policy}</td><td>${r.cardinality}</td><td>${r.boundTo.join(', ') || (r.cardinality.startsWith('1') ? 'MISSING' : 'none')}</td></tr>`)}</tbody>
      </table>` : null}
    ${i.health && !i.health.ok && i.health.error ? html`<pre class="stack">${i.health.error}</pre>` : null}
    ${i.lastError ? html`
      <div class="last-error" data-testid="last-error">
        <h4>last error</h4>
        <div><code>${i.lastError.code}</code> ${messageOf(i.lastError)}</div>
        ${where ? html`<div class="where">at <code>${shortPath(where)}</code></div>` : null}
        <details><summary>stack</summary><pre class="stack">${i.lastError.stack}</pre></details>
      </div>` : null}
    <h4>metrics</h4>
    <${Metrics} id=${i.id} />`;
}

/** @param {{ id: string, state: State, onClose: () => void }} props */
export function Panel({ id, state, onClose }) {
  const [tab, setTab] = useState('overview');
  const [busy, setBusy] = useState('');
  const [result, setResult] = useState('');
  const [version, setVersion] = useState(0);
  const i = state.instances.find((x) => x.id === id);
  useEffect(() => {
    followLogs(tab === 'log' ? id : null);
  }, [tab, id]);
  useEffect(() => () => followLogs(null), []);
  useEffect(() => { setResult(''); }, [id]);
  if (!i) return html`<aside class="panel"><p class="muted">No instance ${id} (any more).</p><button onClick=${onClose}>Close</button></aside>`;
  /** @param {string} action */
  const act = async (action) => {
    setBusy(action);
    setResult('');
    try {
      const r = await post(`${inst(id)}/${action}`, action === 'rollback' ? {} : undefined);
      setResult(action === 'test' ? `tests passed\n${r.test.output}` : `${action}: done`);
    } catch (e) {
      setResult(`${action} failed: ${/** @type {Error} */ (e).message}`);
    } finally {
      setBusy('');
      setVersion((v) => v + 1);
    }
  };
  const bump = () => setVersion((v) => v + 1);
  return html`
    <aside class="panel" data-testid="panel" data-instance=${id}>
      <div class="panel-head">
        <h2>${id}</h2>
        <button class="ghost close" onClick=${onClose} aria-label="close">×</button>
      </div>
      <div class="actions">
        ${['reload', 'stop', 'start', 'test', 'rollback'].map((a) => html`
          <button class="small" disabled=${!!busy} data-action=${a} onClick=${() => act(a)}>${busy === a ? `${a}…` : a}</button>`)}
      </div>
      ${result ? html`<pre class="result" data-testid="action-result">${result}</pre>` : null}
      <nav class="tabs">
        ${TABS.map((t) => html`<button class="tab ${tab === t ? 'on' : ''}" data-tab=${t} onClick=${() => setTab(t)}>${t}</button>`)}
      </nav>
      <div class="tab-body">
        ${tab === 'overview' ? html`<${Overview} i=${i} all=${state.instances} />` : null}
        ${tab === 'log' ? html`<${Logs} records=${state.logs && state.logs.id === id ? state.logs.records : []} />` : null}
        ${tab === 'config' ? html`<${ConfigEditor} id=${id} version=${version} onApplied=${bump} />` : null}
        ${tab === 'revisions' ? html`<${Revisions} id=${id} version=${version} onChanged=${bump} />` : null}
        ${tab === 'versions' ? html`<${History} id=${id} version=${version} onChanged=${bump} />` : null}
      </div>
    </aside>`;
}
