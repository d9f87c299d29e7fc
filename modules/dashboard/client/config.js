// An instance's config: its own section (what cheshire.json holds for it, without defaults) in a
// JSON editor, checked against the module's schema as it is typed (validateConfig on the node:
// nothing is applied until it is valid), applied as a new revision; the effective config, the
// defaults and the schema beside it.
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, getJson, inst, post } from './api.js';

/** @typedef {import('../protocol.ts').ConfigDoc} ConfigDoc */

const pretty = (/** @type {unknown} */ v) => JSON.stringify(v, null, 2);

/** @param {string} text @returns {{ value: Record<string, unknown> } | { error: string }} */
function parse(text) {
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: 'the config must be a JSON object' };
    return { value: v };
  } catch (e) {
    return { error: `not JSON: ${/** @type {Error} */ (e).message}` };
  }
}

/** @param {{ id: string, version: number, onApplied: () => void }} props  version: bump to reload the document */
export function ConfigEditor({ id, version, onApplied }) {
  const [doc, setDoc] = useState(/** @type {ConfigDoc | null} */ (null));
  const [text, setText] = useState('');
  const [errors, setErrors] = useState(/** @type {string[]} */ ([]));
  const [checking, setChecking] = useState(false);
  const [status, setStatus] = useState('');
  const seq = useRef(0);

  useEffect(() => {
    let live = true;
    getJson(`${inst(id)}/config`).then((/** @type {ConfigDoc} */ d) => {
      if (!live) return;
      setDoc(d);
      setText(pretty(d.override));
      setErrors([]);
    }).catch((/** @type {Error} */ e) => live && setStatus(e.message));
    return () => { live = false; };
  }, [id, version]);

  /** @param {string} next */
  const check = async (next) => {
    const mine = ++seq.current;
    const p = parse(next);
    if ('error' in p) { setErrors([p.error]); return; }
    setChecking(true);
    try {
      const r = await post(`${inst(id)}/validate`, { override: p.value });
      if (mine === seq.current) setErrors(r.errors);
    } catch (e) {
      if (mine === seq.current) setErrors([/** @type {Error} */ (e).message]);
    } finally {
      if (mine === seq.current) setChecking(false);
    }
  };
  const timer = useRef(/** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined));
  /** @param {Event} ev */
  const onInput = (ev) => {
    const next = /** @type {HTMLTextAreaElement} */ (ev.target).value;
    setText(next);
    setStatus('');
    clearTimeout(timer.current);
    timer.current = setTimeout(() => check(next), 150);
  };
  const parsed = parse(text);
  const unchanged = doc !== null && 'value' in parsed && JSON.stringify(parsed.value) === JSON.stringify(doc.override);
  const valid = 'value' in parsed && errors.length === 0 && !checking;
  const apply = async () => {
    if (!('value' in parsed)) return;
    setStatus('applying…');
    try {
      const r = await post(`${inst(id)}/config`, { override: parsed.value });
      setStatus(`applied as revision ${r.revision.rev}`);
      onApplied();
    } catch (e) {
      if (e instanceof ApiError && e.errors.length) setErrors(e.errors);
      setStatus(/** @type {Error} */ (e).message);
    }
  };
  if (!doc) return html`<p class="muted">${status || 'loading…'}</p>`;
  return html`
    <div class="config">
      <label class="label">This node's config for <b>${id}</b> (cheshire.json <code>modules["${id}"]</code>; defaults apply to what it leaves out)</label>
      <textarea class="mono" rows="10" spellcheck="false" value=${text} onInput=${onInput} data-testid="config-editor"></textarea>
      <div class="config-errors" data-testid="config-errors" data-valid=${valid ? 'yes' : 'no'}>
        ${errors.map((e) => html`<div class="err-text">${e}</div>`)}
        ${valid && !unchanged ? html`<div class="ok-text">valid: apply to restart ${id} with it</div>` : null}
      </div>
      <div class="row">
        <button disabled=${!valid || unchanged} onClick=${apply} data-testid="config-apply">Apply</button>
        <button class="ghost" onClick=${() => { setText(pretty(doc.override)); setErrors([]); setStatus(''); }}>Reset</button>
        <span class="muted" data-testid="config-status">${status}</span>
      </div>
      <div class="config-side">
        <details open><summary>effective config</summary><pre data-testid="config-effective">${pretty(doc.effective)}</pre></details>
        <details><summary>defaults</summary><pre>${pretty(doc.defaults)}</pre></details>
        <details><summary>schema</summary><pre>${pretty(doc.schema)}</pre></details>
      </div>
    </div>`;
}
