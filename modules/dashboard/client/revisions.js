// Config revisions (each with what changed from the one before, and revert) and the versions of
// the module's code the node kept (with rollback).
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { getJson, inst, post } from './api.js';
import { clock } from './format.js';

/** @typedef {import('../protocol.ts').RevisionView} RevisionView */
/** @typedef {{ rev: number, version: string, at: string, source: string, outcome: string, error?: string, bundleHash?: string, contentId: string }} HistoryEntry */

/** @param {{ id: string, version: number, onChanged: () => void }} props */
export function Revisions({ id, version, onChanged }) {
  const [list, setList] = useState(/** @type {RevisionView[] | null} */ (null));
  const [status, setStatus] = useState('');
  useEffect(() => {
    let live = true;
    getJson(`${inst(id)}/revisions`).then((/** @type {RevisionView[]} */ l) => live && setList(l)).catch((/** @type {Error} */ e) => live && setStatus(e.message));
    return () => { live = false; };
  }, [id, version]);
  /** @param {number} rev */
  const revert = async (rev) => {
    setStatus(`reverting to ${rev}…`);
    try {
      const r = await post(`${inst(id)}/revert`, { rev });
      setStatus(`reverted: revision ${r.revision.rev} has the config of ${rev}`);
      onChanged();
    } catch (e) {
      setStatus(/** @type {Error} */ (e).message);
    }
  };
  if (!list) return html`<p class="muted">${status || 'loading…'}</p>`;
  const newest = list.length ? list[list.length - 1].rev : 0;
  return html`
    <p class="muted" data-testid="revisions-status">${status}</p>
    <ol class="revisions" data-testid="revisions">
      ${list.slice().reverse().map((r) => html`
        <li key=${r.rev} data-rev=${r.rev}>
          <div class="row">
            <b>rev ${r.rev}</b> <span class="muted">${clock(r.at)} · ${r.source}${r.note ? ` · ${r.note}` : ''}</span>
            ${r.rev === newest ? html`<span class="badge ok">current</span>` : html`<button class="small" data-testid="revert" onClick=${() => revert(r.rev)}>revert to this</button>`}
          </div>
          <pre class="diff">${r.diff}</pre>
        </li>`)}
    </ol>`;
}

/** @param {{ id: string, version: number, onChanged: () => void }} props */
export function History({ id, version, onChanged }) {
  const [list, setList] = useState(/** @type {HistoryEntry[] | null} */ (null));
  const [status, setStatus] = useState('');
  useEffect(() => {
    let live = true;
    getJson(`${inst(id)}/history`).then((/** @type {HistoryEntry[]} */ l) => live && setList(l)).catch((/** @type {Error} */ e) => live && setStatus(e.message));
    return () => { live = false; };
  }, [id, version]);
  /** @param {number} rev */
  const rollback = async (rev) => {
    setStatus(`rolling back to ${rev}…`);
    try {
      const r = await post(`${inst(id)}/rollback`, { rev });
      setStatus(`rev ${r.entry.rev} active`);
      onChanged();
    } catch (e) {
      setStatus(/** @type {Error} */ (e).message);
    }
  };
  if (!list) return html`<p class="muted">${status || 'loading…'}</p>`;
  return html`
    <p class="muted">${status}</p>
    ${list.length === 0 ? html`<p class="muted">No versions recorded yet.</p>` : null}
    <ol class="revisions">
      ${list.slice().reverse().map((h) => html`
        <li key=${h.rev}>
          <div class="row">
            <b>rev ${h.rev}</b> <span class="badge outcome-${h.outcome}">${h.outcome}</span>
            <span class="muted">${clock(h.at)} · ${h.source} · v${h.version} ${h.bundleHash ? `#${h.bundleHash.slice(0, 8)}` : ''}</span>
            ${h.outcome === 'active' ? html`<button class="small" onClick=${() => rollback(h.rev)}>roll back to this</button>` : null}
          </div>
          ${h.error ? html`<pre class="stack">${h.error}</pre>` : null}
        </li>`)}
    </ol>`;
}
