// The page's entry (bundled by the dashboard module at its start): styles, the live connection, the app.
import './style.css';
import { html, render } from 'htm/preact';
import { App } from './app.js';
import { connect } from './store.js';
import { startTicker } from './ticker.js';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(html`<${App} />`, root);
  connect();
  startTicker();
}
