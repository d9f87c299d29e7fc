// Uptimes move every second; re-rendering a thousand rows for that would cost the page more than
// everything else it does. Each uptime is a <span data-since> whose text one timer updates in
// place, and only while it is on screen (an IntersectionObserver keeps the set): rewriting the
// text of 1,000 table cells every second measured ~150 ms of layout per second in chromium.
// Table cells are also `coarse` (to the minute past the first), so they change once a minute.
import { html } from 'htm/preact';
import { coarseDuration, duration } from './format.js';
import { getState } from './store.js';

const serverNow = () => Date.now() + getState().skew;

/** @param {{ since: number | null, coarse?: boolean }} props  since: epoch ms on the server's clock */
export function Uptime({ since, coarse = false }) {
  if (since === null) return html`<span class="muted">–</span>`;
  const text = (coarse ? coarseDuration : duration)(serverNow() - since);
  return html`<span class="uptime" data-since=${since} data-coarse=${coarse ? '1' : undefined}>${text}</span>`;
}

/** @param {Element} el @param {number} now */
function refresh(el, now) {
  const d = /** @type {HTMLElement} */ (el).dataset;
  if (d.since === undefined) return;
  const text = (d.coarse ? coarseDuration : duration)(now - Number(d.since));
  if (el.textContent !== text) el.textContent = text;
}

export function startTicker() {
  /** @type {Set<Element>} */
  const visible = new Set();
  /** @type {WeakSet<Element>} */
  const watched = new WeakSet();
  const io = new IntersectionObserver((entries) => {
    const now = serverNow();
    for (const e of entries) {
      if (e.isIntersecting) {
        visible.add(e.target);
        refresh(e.target, now);
      } else {
        visible.delete(e.target);
      }
    }
  });
  const watchNew = () => {
    for (const el of document.querySelectorAll('[data-since]')) {
      if (watched.has(el)) continue;
      watched.add(el);
      io.observe(el);
    }
  };
  new MutationObserver(watchNew).observe(document.body, { childList: true, subtree: true });
  watchNew();
  setInterval(() => {
    const now = serverNow();
    for (const el of visible) {
      if (!el.isConnected) {
        visible.delete(el);
        io.unobserve(el);
      } else {
        refresh(el, now);
      }
    }
  }, 1000);
}
