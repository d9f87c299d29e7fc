// The page: the node's header and banners, the module graph and the instance table, the reload
// timeline, the cluster, and the selected instance's panel. The selection lives in the URL's hash,
// so it survives a reload of the page.
import { html } from 'htm/preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Cluster } from './cluster.js';
import { Graph } from './graph.js';
import { Banners, Header } from './header.js';
import { Instances } from './instances.js';
import { Panel } from './panel.js';
import { useStore } from './store.js';
import { Timeline } from './timeline.js';

const fromHash = () => {
  const m = /^#i=(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
};

export function App() {
  const state = useStore();
  const [selected, setSelected] = useState(fromHash);
  const [filter, setFilter] = useState('');
  useEffect(() => {
    const onHash = () => setSelected(fromHash());
    addEventListener('hashchange', onHash);
    return () => { removeEventListener('hashchange', onHash); };
  }, []);
  /** @param {string | null} id */
  const select = (id) => {
    history.replaceState(null, '', id ? `#i=${encodeURIComponent(id)}` : location.pathname);
    setSelected(id);
  };
  const states = useMemo(() => new Map(state.instances.map((i) => [i.id, i.state])), [state.instances]);
  const statesKey = [...states.values()].join('|');
  // The same vnode while the graph, the states and the selection are unchanged: preact skips it.
  const graph = useMemo(() => html`<${Graph} graph=${state.graph} states=${states} selected=${selected} onSelect=${select} />`, [state.graph, statesKey, selected]);
  if (!state.node) {
    return html`<${Header} state=${state} /><main class="boot"><p>${state.link === 'connecting' ? 'Connecting to the node…' : 'Reconnecting…'}</p></main>`;
  }
  const failing = state.instances.filter((i) => i.state === 'failed' || i.state === 'backoff' || (i.health && !i.health.ok)).length;
  return html`
    <${Header} state=${state} />
    <${Banners} node=${state.node} />
    <div class="layout ${selected ? 'with-panel' : ''}">
      <main>
        <section class="card">
          <div class="card-head">
            <h2>Modules <span class="muted">${state.instances.length} instances${failing ? html`, <span class="err-text">${failing} not well</span>` : null}</span></h2>
            <div class="legend">
              ${['active', 'starting', 'waiting', 'backoff', 'failed', 'stopped'].map((s) => html`<span class="state state-${s}">${s}</span>`)}
              <span class="legend-edge">── static</span><span class="legend-edge">- - dynamic</span><span class="legend-edge bad">missing</span>
            </div>
          </div>
          ${graph}
        </section>
        <div class="pair">
          <section class="card">
            <div class="card-head"><h2>Instances</h2><input type="search" placeholder="filter" value=${filter} onInput=${(/** @type {Event} */ e) => setFilter(/** @type {HTMLInputElement} */ (e.target).value)} /></div>
            <${Instances} instances=${state.instances} selected=${selected} onSelect=${select} filter=${filter} />
          </section>
          <section class="card">
            <div class="card-head"><h2>Reload timeline ${selected ? html`<span class="muted">of ${selected}</span>` : null}</h2></div>
            <${Timeline} reloads=${state.reloads} onSelect=${select} only=${selected} />
          </section>
        </div>
        <section class="card">
          <div class="card-head"><h2>Cluster</h2></div>
          <${Cluster} cluster=${state.cluster} />
        </section>
      </main>
      ${selected ? html`<${Panel} id=${selected} state=${state} onClose=${() => select(null)} />` : null}
    </div>`;
}
