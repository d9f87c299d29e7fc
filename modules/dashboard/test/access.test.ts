// Who may use the dashboard. Off loopback without a token it refuses to start (before it
// listens: tested with an address this machine does not have, so a listen would fail otherwise).
// With a token (tested on 127.0.0.1) every request but /healthz needs the cookie the login form
// sets or a bearer header, the WebSocket included. Without one, only loopback Host names are
// answered and changes must come from the page itself; bodies and messages are capped.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { freePort } from '../../../base/free-port.ts';
import { makeProject, startHost } from '../../../test/helpers/project.ts';
import { launch, request, shot, startDashNode, synced, waitFor, type DashNode } from './helpers.ts';

const TOKEN = 'test-token-0123456789abcdef';
const plain = 'export function start() { return {}; }\n';
const ACTION = { 'content-type': 'application/json', 'x-cheshire-dashboard': '1' };

/** How a WebSocket to /live goes: the HTTP status it is refused with, or the first message. */
function tryLive(url: string, headers: Record<string, string> = {}, send?: string): Promise<{ status?: number; first?: string; closed?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}live`, { headers, handshakeTimeout: 5000 });
    let first: string | undefined;
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode });
      ws.terminate();
    });
    ws.on('open', () => { if (send !== undefined) ws.send(send); });
    ws.on('message', (d) => {
      first ??= d.toString();
      if (send === undefined) {
        ws.close();
      }
    });
    ws.on('close', (code) => resolve({ first, closed: code }));
    ws.on('error', (err) => { if (!/Unexpected server response/.test(err.message)) reject(err); });
  });
}

const R = suite('refusing to start');

R('a non-loopback host without a token: CHS_ERR_DASHBOARD_TOKEN, before anything listens', async () => {
  const project = await makeProject({
    modules: { app: { index: plain } },
    copy: ['dashboard'],
    role: ['app', 'dashboard'],
    // 192.0.2.1 (TEST-NET-1) is no address of this machine: had the module tried to listen, the
    // error would be EADDRNOTAVAIL, not the token's.
    config: { modules: { dashboard: { host: '192.0.2.1', port: await freePort() } } },
  });
  const th = await startHost(project);
  try {
    const err = await waitFor('the dashboard to fail', () => th.host.instances.get('dashboard')?.lastError, 10_000);
    assert.is(err.code, 'CHS_ERR_DASHBOARD_TOKEN', err.message);
    assert.match(err.message, '192.0.2.1');
    assert.match(err.message, '"token"');
    assert.not.match(err.stack, 'EADDRNOTAVAIL');
    assert.is(th.host.instances.get('app')?.state, 'active', 'the rest of the node runs');
  } finally {
    await th.close();
    await project.cleanup();
  }
});

R.run();

const T = suite('with a token');
let tnode: DashNode;

T.before(async () => {
  tnode = await startDashNode({ modules: { app: { index: plain } }, role: ['app'], dashboard: { token: TOKEN } });
});
T.after(async () => { await tnode?.close(); });

T('without the token: the page sends to the login form, the rest answers 401; /healthz stays open', async () => {
  const root = await request(tnode.url);
  assert.is(root.status, 303);
  assert.is(root.headers.location, '/login');
  for (const path of ['metrics', 'api/instances/app/config', 'app.0.js']) {
    const r = await request(`${tnode.url}${path}`);
    assert.is(r.status, 401, path);
    assert.match(String(r.headers['www-authenticate']), /Bearer/);
  }
  const post = await request(`${tnode.url}api/instances/app/reload`, { method: 'POST', headers: ACTION, body: '{}' });
  assert.is(post.status, 401);
  const health = await request(`${tnode.url}healthz`);
  assert.ok(health.status === 200 || health.status === 503, `healthz answers without the token (${health.status})`);
  assert.is((await tryLive(tnode.url)).status, 401, 'the WebSocket is refused');
  const wrong = await request(`${tnode.url}metrics`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
  assert.is(wrong.status, 401);
});

T('with the bearer token: the page, /metrics, the API and the live feed answer', async () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.is((await request(tnode.url, { headers: auth })).status, 200);
  assert.is((await request(`${tnode.url}metrics`, { headers: auth })).status, 200);
  assert.is((await request(`${tnode.url}api/instances/app/config`, { headers: auth })).status, 200);
  const live = await tryLive(tnode.url, auth);
  assert.is(JSON.parse(live.first ?? '{}').t, 'snapshot');
});

T('in chromium: the login form refuses a wrong token, accepts the right one and sets an HttpOnly SameSite=Strict cookie', async () => {
  const pages = await launch();
  try {
    const page = await pages.open(tnode.url);
    assert.match(page.url(), /\/login$/);
    await page.fill('input[name=token]', 'wrong-token-wrong-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('.login-error');
    await page.fill('input[name=token]', TOKEN);
    await page.click('button[type=submit]');
    await synced(page);
    const cookies = await page.context().cookies();
    const c = cookies.find((k) => k.name === 'chs_dashboard');
    assert.ok(c, 'the session cookie is set');
    assert.is(c!.httpOnly, true);
    assert.is(c!.sameSite, 'Strict');
    assert.not.match(c!.value, TOKEN);
    assert.is(await page.evaluate('document.cookie'), '', 'scripts cannot read it');
    await shot(page, 'token-signed-in');
    assert.equal(pages.errors.filter((e) => !/401/.test(e)), []);
  } finally {
    await pages.close();
  }
});

T.run();

const O = suite('without a token, on loopback');
let onode: DashNode;

O.before(async () => {
  onode = await startDashNode({ modules: { app: { index: plain } }, role: ['app'] });
});
O.after(async () => { await onode?.close(); });

O('another Host name (DNS rebinding) is refused; loopback names are answered', async () => {
  assert.is((await request(onode.url, { headers: { host: `evil.example:${onode.port}` } })).status, 421);
  assert.is((await request(onode.url, { headers: { host: `localhost:${onode.port}` } })).status, 200);
  assert.is((await tryLive(onode.url, { host: `evil.example:${onode.port}` })).status, 403);
});

O('changes must come from the page: the action header and this origin', async () => {
  const url = `${onode.url}api/instances/app/reload`;
  assert.is((await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status, 403, 'no action header');
  assert.is((await request(url, { method: 'POST', headers: { ...ACTION, origin: 'http://evil.example' }, body: '{}' })).status, 403, 'another origin');
  assert.is((await request(url, { method: 'POST', headers: { ...ACTION, origin: `http://127.0.0.1:${onode.port}` }, body: '{}' })).status, 200);
  assert.is((await tryLive(onode.url, { origin: 'http://evil.example' })).status, 403, 'a cross-site WebSocket');
});

O('limits: a config body over 1 MiB is refused with 413; a WebSocket message over 4 KiB or unknown closes the socket', async () => {
  const big = JSON.stringify({ override: { x: 'y'.repeat(1.1 * 1024 * 1024) } });
  const r = await request(`${onode.url}api/instances/app/validate`, { method: 'POST', headers: ACTION, body: big }).catch((err: Error) => ({ status: -1, body: err.message }));
  assert.ok(r.status === 413 || r.status === -1, `refused (${r.status})`);
  assert.is((await tryLive(onode.url, {}, 'x'.repeat(5000))).closed, 1009);
  assert.is((await tryLive(onode.url, {}, '{"t":"nope"}')).closed, 1003);
});

O.run();
