// The node's header (name, role, uptime, versions, the live link) and the banners of a node that
// is not well: failsafe mode with the start-up error and its stack, a refused config, a refused cycle.
import { html } from 'htm/preact';
import { post } from './api.js';
import { errorWhere, messageOf, shortPath } from './format.js';
import { Uptime } from './ticker.js';

/**
 * @typedef {import('../protocol.ts').NodeView} NodeView
 * @typedef {import('./store.js').State} State
 */

/** @param {{ state: State }} props */
export function Header({ state }) {
  const n = state.node;
  const link = state.link === 'live' ? (state.synced ? 'live' : 'syncing') : state.link;
  const logout = async () => {
    try { await post('/logout'); } catch { /* the redirect answers as an error to fetch */ }
    location.href = '/login';
  };
  return html`
    <header class="top">
      <div class="brand">Cheshire</div>
      ${n ? html`
        <div class="facts">
          <span class="fact"><b data-testid="node-name">${n.node}</b></span>
          <span class="fact">role <b data-testid="node-role">${n.role}</b></span>
          <span class="fact">up <b data-testid="node-uptime"><${Uptime} since=${Date.parse(n.startedAt)} /></b></span>
          <span class="fact">pid ${n.pid}</span>
          ${n.versions ? html`<span class="fact">cheshire ${n.versions.cheshire} · node ${n.versions.node}</span>` : null}
          ${n.memory ? html`<span class="fact">heap ${n.memory.heapUsedMb.toFixed(0)} MB · rss ${n.memory.rssMb.toFixed(0)} MB</span>` : null}
          ${n.loopDelayP99Ms !== null ? html`<span class="fact">loop p99 ${n.loopDelayP99Ms.toFixed(1)} ms</span>` : null}
          ${n.publicKey ? html`<span class="fact key" title=${n.publicKey}>key ${n.publicKey.slice(0, 12)}…</span>` : null}
        </div>` : html`<div class="facts"></div>`}
      <div class="link link-${link}" data-testid="link" data-link=${link}>${link}</div>
      ${state.auth ? html`<button class="ghost" onClick=${logout}>Sign out</button>` : null}
    </header>`;
}

/** @param {{ title: string, kind: string, error: import('../protocol.ts').ErrorView, testid: string, hint?: string }} props */
function ErrorBanner({ title, kind, error, testid, hint }) {
  const where = errorWhere(error);
  return html`
    <section class="banner ${kind}" data-testid=${testid} role="alert">
      <h2>${title}</h2>
      <p class="banner-msg"><code>${error.code}</code> ${messageOf(error)}</p>
      ${where ? html`<p class="where">at <code data-testid="${testid}-where">${shortPath(where)}</code></p>` : null}
      ${hint ? html`<p class="hint">${hint}</p>` : null}
      <details open=${kind === 'failsafe'}>
        <summary>stack</summary>
        <pre class="stack" data-testid="${testid}-stack">${error.stack}</pre>
      </details>
    </section>`;
}

/** @param {{ node: NodeView | null }} props */
export function Banners({ node }) {
  if (!node) return null;
  return html`
    ${node.failsafe ? html`<${ErrorBanner} title="Failsafe mode: the configured start-up failed" kind="failsafe" error=${node.failsafe} testid="failsafe"
        hint="The node runs its minimal set (9P control tree and this dashboard). Fix the config or module on disk: it is picked up without a restart." />` : null}
    ${node.configError ? html`<${ErrorBanner} title="A config change was refused; the running config is kept" kind="warn" error=${node.configError} testid="config-error" />` : null}
    ${node.cycle && !node.failsafe ? html`<section class="banner warn" data-testid="cycle" role="alert"><h2>Dependency cycle refused</h2><p><code>${node.cycle.join(' -> ')}</code> (the graph without it keeps running)</p></section>` : null}`;
}
