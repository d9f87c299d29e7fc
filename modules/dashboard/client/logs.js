// An instance's log tail, live: the recent records the host keeps, then each new one as it comes;
// filtered by level and by text. Stays scrolled to the newest line unless the reader scrolled up.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LEVEL_CHOICES, clock, levelName } from './format.js';

/** @typedef {import('../protocol.ts').LogView} LogView */

/** @param {{ records: LogView[] }} props */
export function Logs({ records }) {
  const [level, setLevel] = useState(20);
  const [search, setSearch] = useState('');
  const box = useRef(/** @type {HTMLDivElement | null} */ (null));
  const pinned = useRef(true);
  const q = search.trim().toLowerCase();
  const shown = records.filter((r) => r.level >= level && (!q || r.msg.toLowerCase().includes(q) || (r.err?.message ?? '').toLowerCase().includes(q)));
  useEffect(() => {
    const el = box.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  });
  const onScroll = () => {
    const el = box.current;
    if (el) pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };
  return html`
    <div class="log-tools">
      <label>level <select value=${level} data-testid="log-level" onChange=${(/** @type {Event} */ e) => setLevel(Number(/** @type {HTMLSelectElement} */ (e.target).value))}>
        ${LEVEL_CHOICES.map((l) => html`<option value=${l}>${levelName(l)}+</option>`)}
      </select></label>
      <input type="search" placeholder="search" value=${search} data-testid="log-search" onInput=${(/** @type {Event} */ e) => setSearch(/** @type {HTMLInputElement} */ (e.target).value)} />
      <span class="muted" data-testid="log-count">${shown.length} / ${records.length}</span>
    </div>
    <div class="log" ref=${box} onScroll=${onScroll} data-testid="log">
      ${shown.map((r, k) => html`
        <div class="log-line lvl-${levelName(r.level)}" key=${`${r.time}:${k}`}>
          <span class="time">${clock(r.time)}</span> <span class="lvl">${levelName(r.level).toUpperCase()}</span> <span class="msg">${r.msg}</span>
          ${r.err?.stack ? html`<pre class="stack">${r.err.stack}</pre>` : null}
        </div>`)}
    </div>`;
}
