// The dashboard's HTTP routes. In order: the Host check (without a token only loopback names are
// answered), what is always open (/healthz, the login form, the icon), the token gate (cookie or
// bearer), then the page, its bundle, /metrics and the JSON API. A request that changes something
// must come from the page itself: same Origin and the x-cheshire-dashboard header, which no
// cross-site form can send.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from 'cheshire/sdk';
import { Gate } from './access.ts';
import { api, type ApiDeps } from './api.ts';
import type { ClientBundle } from './bundle.ts';
import { ACTION_HEADER, HttpError, hostAllowed, readBody, sameOrigin, sendError, sendText } from './http-util.ts';
import { healthz, metrics } from './ops.ts';
import { FAVICON, HTML_HEADERS, LOGIN_CSS, loginHtml, pageHtml } from './page.ts';

export interface RouteDeps extends ApiDeps {
  gate: Gate;
  bundle: () => ClientBundle;
}

const IMMUTABLE = 'public, max-age=31536000, immutable';
const LOGIN_FAILURE_DELAY_MS = 300;

function decodeParts(path: string): string[] {
  try {
    return path.split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  } catch {
    throw new HttpError(400, 'malformed percent-encoding in the path');
  }
}

function asset(res: ServerResponse, hash: string, wanted: string, text: string, type: string): void {
  // An older page asking for its own bundle after a change gets the current one, never cached.
  sendText(res, 200, text, type, { 'cache-control': wanted === hash ? IMMUTABLE : 'no-cache' });
}

async function login(d: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!sameOrigin(req)) throw new HttpError(403, 'cross-origin sign-in refused');
  const form = new URLSearchParams((await readBody(req, 4096)).toString('utf8'));
  if (!d.gate.accepts(form.get('token') ?? '')) {
    await sleep(LOGIN_FAILURE_DELAY_MS); // a guesser gets a few tries a second per connection, not thousands
    sendText(res, 401, loginHtml(true), 'text/html; charset=utf-8', HTML_HEADERS);
    return;
  }
  res.writeHead(303, { location: '/', 'set-cookie': d.gate.loginCookie(), 'cache-control': 'no-store' });
  res.end();
}

export function routes(d: RouteDeps): Handler {
  return async (req, res) => {
    try {
      await route(d, req, res);
    } catch (err) {
      sendError(res, err);
    }
  };
}

async function route(d: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!hostAllowed(req, !d.gate.enabled)) {
    throw new HttpError(421, `this dashboard answers loopback names only (Host: ${req.headers.host ?? 'none'}); configure a token to serve other names`);
  }
  const url = new URL(req.url ?? '/', 'http://dashboard');
  const path = url.pathname;
  const method = req.method ?? 'GET';
  const read = method === 'GET' || method === 'HEAD';

  // Always open: probes, the sign-in form and what it needs.
  if (path === '/healthz' || path.startsWith('/healthz/')) {
    if (!read) throw new HttpError(405, 'GET /healthz');
    const id = path === '/healthz' ? null : decodeParts(path.slice('/healthz/'.length)).join('/');
    return healthz(d.host, res, id);
  }
  if (path === '/favicon.svg') return sendText(res, 200, FAVICON, 'image/svg+xml', { 'cache-control': 'public, max-age=86400' });
  if (path === '/favicon.ico') return void res.writeHead(204).end();
  if (path === '/login.css') return sendText(res, 200, LOGIN_CSS, 'text/css; charset=utf-8');
  if (path === '/login') {
    if (!d.gate.enabled) {
      res.writeHead(303, { location: '/' }).end();
      return;
    }
    if (method === 'POST') return login(d, req, res);
    return sendText(res, 200, loginHtml(false), 'text/html; charset=utf-8', HTML_HEADERS);
  }

  if (!d.gate.admits(req)) {
    if (read && path === '/') {
      res.writeHead(303, { location: '/login', 'cache-control': 'no-store' }).end();
      return;
    }
    res.setHeader('www-authenticate', 'Bearer realm="cheshire-dashboard"');
    throw new HttpError(401, 'this dashboard needs its token: sign in at /login, or send Authorization: Bearer TOKEN');
  }

  if (!read) {
    // Everything that changes something: the page's own requests only.
    if (!sameOrigin(req) || req.headers[ACTION_HEADER] !== '1') throw new HttpError(403, `requests that change something must come from the dashboard page (same origin, ${ACTION_HEADER}: 1)`);
  }
  if (path === '/logout' && method === 'POST') {
    res.writeHead(303, { location: '/login', 'set-cookie': Gate.logoutCookie() }).end();
    return;
  }
  if (path.startsWith('/api/')) return api(d, method, decodeParts(path.slice(5)), req, res);
  if (!read) throw new HttpError(405, `${method} ${path} is not supported`);
  if (path === '/metrics') return metrics(d.host, res);
  const b = d.bundle();
  if (path === '/') return sendText(res, 200, pageHtml(b), 'text/html; charset=utf-8', HTML_HEADERS);
  const m = /^\/app\.([0-9a-f]+)\.(js|css|js\.map)$/.exec(path);
  if (m) {
    const [, hash, ext] = m;
    if (ext === 'js') return asset(res, b.hash, hash!, `${b.js}\n//# sourceMappingURL=/app.${b.hash}.js.map\n`, 'text/javascript; charset=utf-8');
    if (ext === 'css') return asset(res, b.hash, hash!, b.css, 'text/css; charset=utf-8');
    return asset(res, b.hash, hash!, b.map, 'application/json; charset=utf-8');
  }
  throw new HttpError(404, `nothing at ${path}`);
}
