// The reload timeline, newest first: when, which instance, what set it off (save, ctl, config,
// install, rollback, promote, crash, dependency), hot swap or restart, how long, how it ended, and
// for a refusal or failure the error with its file:line and stack.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { clock, errorWhere, messageOf, shortHash, shortPath } from './format.js';

/** @typedef {import('../protocol.ts').ReloadView} ReloadView */

/** @param {{ reloads: ReloadView[], onSelect: (id: string) => void, only: string | null }} props */
export function Timeline({ reloads, onSelect, only }) {
  const [failuresOnly, setFailuresOnly] = useState(false);
  const list = reloads.filter((e) => (!only || e.id === only) && (!failuresOnly || e.outcome !== 'active')).slice().reverse();
  return html`
    <div class="timeline-tools">
      <label><input type="checkbox" checked=${failuresOnly} onChange=${(/** @type {Event} */ ev) => setFailuresOnly(/** @type {HTMLInputElement} */ (ev.target).checked)} /> failures only</label>
      <span class="muted">${list.length} of ${reloads.length}</span>
    </div>
    <ol class="timeline" data-testid="timeline">
      ${list.length === 0 ? html`<li class="muted empty">No reloads yet. Save a module's file and it shows here.</li>` : null}
      ${list.map((e) => {
        const where = errorWhere(e.error);
        return html`
          <li key=${e.seq} class="reload outcome-${e.outcome}" data-seq=${e.seq} data-id=${e.id} data-outcome=${e.outcome}>
            <div class="reload-line">
              <span class="time mono">${clock(e.at)}</span>
              <a class="id" href="#" onClick=${(/** @type {Event} */ ev) => { ev.preventDefault(); onSelect(e.id); }}>${e.id}</a>
              <span class="badge trigger">${e.trigger}</span>
              <span class="badge kind-${e.kind}">${e.kind}</span>
              <span class="mono">${e.ms} ms</span>
              <span class="badge outcome">${e.outcome}</span>
              <span class="mono muted">v${e.version} ${shortHash(e.hash)}</span>
            </div>
            ${e.error ? html`
              <div class="reload-error">
                <div><code>${e.error.code}</code> ${messageOf(e.error).split('\n')[0]}</div>
                ${where ? html`<div class="where">at <code data-testid="where">${shortPath(where)}</code></div>` : null}
                <details><summary>stack</summary><pre class="stack">${e.error.stack}</pre></details>
              </div>` : null}
          </li>`;
      })}
    </ol>`;
}
