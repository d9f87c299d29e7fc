// Every instance in a table: state, version, uptime, restarts, reloads, health, what it waits for.
import { html } from 'htm/preact';
import { useRef } from 'preact/hooks';
import { shortHash } from './format.js';
import { Uptime } from './ticker.js';

/** @typedef {import('../protocol.ts').InstanceView} InstanceView */

/** @param {InstanceView} i */
export function healthBadge(i) {
  if (!i.health) return html`<span class="muted">–</span>`;
  return html`<span class="badge ${i.health.ok ? 'ok' : 'bad'}" title=${typeof i.health.error === 'string' ? i.health.error : ''}>${i.health.ok ? 'ok' : 'failing'}</span>`;
}

/**
 * Rows are cached per instance object (a delta replaces only the objects that changed) and
 * selection, so an update re-renders the rows it touched.
 * @param {{ instances: InstanceView[], selected: string | null, onSelect: (id: string) => void, filter: string }} props
 */
export function Instances({ instances, selected, onSelect, filter }) {
  const f = filter.trim().toLowerCase();
  const list = f ? instances.filter((i) => i.id.toLowerCase().includes(f) || i.state.includes(f)) : instances;
  const cache = useRef(/** @type {WeakMap<InstanceView, { selected: boolean, vnode: import('preact').VNode }>} */ (new WeakMap()));
  const rows = list.map((i) => {
    const hit = cache.current.get(i);
    if (hit && hit.selected === (selected === i.id)) return hit.vnode;
    const vnode = row(i, selected === i.id, onSelect);
    cache.current.set(i, { selected: selected === i.id, vnode });
    return vnode;
  });
  return html`
    <div class="table-wrap"><table class="instances" data-testid="instances">
      <thead><tr><th>instance</th><th>state</th><th>version</th><th>uptime</th><th>restarts</th><th>reloads</th><th>health</th><th>notes</th></tr></thead>
      <tbody>
        ${rows}
      </tbody>
    </table></div>`;
}

/** @param {InstanceView} i @param {boolean} selected @param {(id: string) => void} onSelect */
function row(i, selected, onSelect) {
  return html`
    <tr key=${i.id} class=${selected ? 'selected' : ''} data-instance=${i.id} onClick=${() => onSelect(i.id)}>
      <td class="id">${i.id}</td>
      <td><span class="state state-${i.state}" data-testid="state">${i.state}</span>${i.disabled ? html` <span class="badge">disabled</span>` : null}</td>
      <td class="mono">${i.version} ${shortHash(i.hash)}</td>
      <td><${Uptime} since=${i.since} coarse /></td>
      <td>${i.restarts}</td>
      <td>${i.reloads}</td>
      <td>${healthBadge(i)}</td>
      <td class="notes">${i.waitingFor.length ? html`<span class="warn-text">waiting for ${i.waitingFor.join(', ')}</span>` : i.lastError ? html`<span class="err-text">${i.lastError.code}</span>` : null}</td>
    </tr>`;
}
