// The proxy module against small in-process backends (static routes, no seed): routing by Host
// and path prefix, X-Forwarded-*, hop-by-hop headers, spreading load, skipping a dead node and
// retrying idempotent requests once, streaming bodies (Content-Length and chunked) without
// buffering, keep-alive reuse, pipelining, WebSocket upgrades, 400/502/503/504 answers, HTTPS,
// and a reload of the proxy under traffic that drops no request.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { freePort } from '../helpers/diod.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

interface Backend { name: string; port: number; url: string; server: http.Server; seen: http.IncomingHttpHeaders[]; connections: number; close(): Promise<void> }

async function backend(name: string, handler?: http.RequestListener): Promise<Backend> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    if (handler) return handler(req, res);
    res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': name });
    res.end(`${name} ${req.method} ${req.url}\n`);
  });
  const b: Backend = {
    name, port: 0, url: '', server, seen, connections: 0,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  server.on('connection', () => { b.connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as net.AddressInfo).port;
  b.url = `http://127.0.0.1:${b.port}`;
  return b;
}

const echo: http.RequestListener = (req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  req.pipe(res);
};

let a: Backend, b: Backend, c2: Backend, slow: Backend, resetter: Backend, resetter2: Backend, echoer: Backend, wsBackend: Backend;
let deadPort: number;
let project: Project;
let th: TestHost;
let port: number;
let base: string;
let tlsDir: string | null = null;
let tlsPort = 0;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

test.before(async () => {
  a = await backend('a');
  b = await backend('b');
  c2 = await backend('c');
  slow = await backend('slow', () => { /* never answers */ });
  let resets = 0;
  resetter = await backend('resetter', (req) => { resets++; req.socket.destroy(); });
  resetter2 = await backend('resetter2', (req) => { resets++; req.socket.destroy(); });
  echoer = await backend('echo', echo);
  wsBackend = await backend('ws');
  const wss = new WebSocketServer({ server: wsBackend.server });
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.headers['x-forwarded-for']}`);
    ws.on('message', (m) => ws.send(`echo ${String(m)}`));
  });
  deadPort = await freePort();
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  void resets;
  const routes = [
    { host: 'a.test', prefix: '/', nodes: [a.url] },
    { host: 'a.test', prefix: '/b', nodes: [b.url] },
    { host: '*.wild.test', prefix: '/', nodes: [c2.url] },
    { host: 'pair.test', prefix: '/', nodes: [a.url, b.url] },
    { host: 'dead.test', prefix: '/', nodes: [`http://127.0.0.1:${deadPort}`, c2.url] },
    { host: 'alldead.test', prefix: '/', nodes: [`http://127.0.0.1:${deadPort}`] },
    { host: 'slow.test', prefix: '/', nodes: [slow.url] },
    { host: 'reset.test', prefix: '/', nodes: [resetter.url, c2.url] },
    { host: 'reset2.test', prefix: '/', nodes: [resetter2.url, c2.url] },
    { host: 'echo.test', prefix: '/', nodes: [echoer.url] },
    { host: 'ws.test', prefix: '/', nodes: [wsBackend.url] },
    { host: 'empty.test', prefix: '/', nodes: [] },
  ];
  const modules: Record<string, Record<string, unknown>> = {
    proxy: { port, routes, responseTimeoutMs: 400, connectTimeoutMs: 500, failMs: 60_000 },
  };
  const role = ['proxy'];
  // openssl is installed by .ci/run; a failure here fails the run (never a silent skip).
  tlsDir = mkdtempSync(join(tmpdir(), 'chs-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', join(tlsDir, 'key.pem'), '-out', join(tlsDir, 'cert.pem')], { stdio: 'pipe' });
  tlsPort = await freePort();
  modules['proxy#tls'] = { port: tlsPort, routes: [{ prefix: '/', nodes: [a.url] }], tls: { cert: join(tlsDir, 'cert.pem'), key: join(tlsDir, 'key.pem') } };
  role.push('proxy#tls');
  project = await makeProject({ modules: {}, copy: ['proxy'], role, config: { modules } });
  th = await startHost(project);
  assert.is(th.host.instances.get('proxy')?.state, 'active', th.host.instances.get('proxy')?.lastError?.message);
  assert.is(th.host.instances.get('proxy#tls')?.state, 'active', th.host.instances.get('proxy#tls')?.lastError?.message);
});

test.after(async () => {
  agent.destroy();
  await th?.close();
  await project?.cleanup();
  for (const x of [a, b, c2, slow, resetter, resetter2, echoer, wsBackend]) await x?.close();
  if (tlsDir) rmSync(tlsDir, { recursive: true, force: true });
});

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

function request(host: string, path: string, opts: { method?: string; body?: Buffer | (() => AsyncIterable<Buffer>); headers?: Record<string, string>; agent?: http.Agent | false } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: opts.method ?? 'GET', headers: { host, ...opts.headers }, agent: opts.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${host}${path}: no answer in 5 s`)));
    const body = opts.body;
    if (!body) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else void (async () => { for await (const chunk of body()) if (!req.write(chunk)) await new Promise((r) => req.once('drain', r)); req.end(); })();
  });
}

/** Raw exchange on a fresh TCP connection: writes `data`, reads until the peer closes or `until` matches. */
function raw(data: string, until?: RegExp, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => { s.destroy(); resolve(out); }, ms);
    s.on('data', (d) => { out += d.toString('latin1'); if (until?.test(out)) { clearTimeout(timer); s.destroy(); resolve(out); } });
    s.on('close', () => { clearTimeout(timer); resolve(out); });
    s.on('error', reject);
    s.write(data);
  });
}

test('routes by Host and the longest path prefix (segment-wise), wildcard hosts included', async () => {
  assert.is((await request('a.test', '/x')).body.toString(), 'a GET /x\n');
  assert.is((await request('a.test:8000', '/b')).body.toString(), 'b GET /b\n');
  assert.is((await request('a.test', '/b/c?q=1')).body.toString(), 'b GET /b/c?q=1\n');
  assert.is((await request('a.test', '/bb')).body.toString(), 'a GET /bb\n', '/bb is not under /b');
  assert.is((await request('x.wild.test', '/')).body.toString(), 'c GET /\n');
  assert.is((await request('A.TEST', '/')).headers['x-served-by'], 'a');
});

test('sets X-Forwarded-For/Proto/Host and drops hop-by-hop headers', async () => {
  a.seen.length = 0;
  await request('a.test', '/h', { headers: { 'x-forwarded-for': '10.0.0.1', 'x-forwarded-proto': 'gopher', connection: 'keep-alive, x-secret', 'x-secret': 's', 'keep-alive': 'timeout=1', te: 'trailers', 'x-kept': 'k' } });
  const h = a.seen[0]!;
  assert.is(h['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.is(h['x-forwarded-proto'], 'http');
  assert.is(h['x-forwarded-host'], 'a.test');
  assert.is(h['x-secret'], undefined);
  assert.is(h['keep-alive'], undefined);
  assert.is(h.te, undefined);
  assert.is(h['x-kept'], 'k');
  assert.is(h.host, 'a.test');
});

test('spreads requests over the live nodes of a route', async () => {
  const by: Record<string, number> = {};
  for (let i = 0; i < 20; i++) {
    const r = await request('pair.test', '/');
    by[String(r.headers['x-served-by'])] = (by[String(r.headers['x-served-by'])] ?? 0) + 1;
  }
  assert.is(by.a, 10);
  assert.is(by.b, 10);
});

test('keeps client and node connections alive (one node connection serves many requests)', async () => {
  const one = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const before = c2.connections;
  for (let i = 0; i < 30; i++) assert.is((await request('x.wild.test', `/${i}`, { agent: one })).status, 200);
  one.destroy();
  assert.ok(c2.connections - before <= 1, `${c2.connections - before} new connections to the node for 30 requests`);
});

test('a dead node is skipped: the request is retried on the other one, later ones avoid it', async () => {
  for (let i = 0; i < 6; i++) {
    const r = await request('dead.test', '/');
    assert.is(r.status, 200);
    assert.is(r.headers['x-served-by'], 'c');
  }
  const stats = JSON.parse(await readStats());
  assert.is(stats.retries, 1, 'only the first request hit the dead node');
});

async function readStats(): Promise<string> {
  const proxy = th.host.instances.get('proxy')!.run!.service as { stats(): unknown };
  return JSON.stringify(proxy.stats());
}

test('502, 503 and 504 come with a short clear body', async () => {
  const r503 = await request('nowhere.test', '/x?secret=1');
  assert.is(r503.status, 503);
  assert.is(r503.body.toString(), '503 Service Unavailable: no live node serves nowhere.test/x (CHS_ERR_PROXY_NO_ROUTE)\n');
  assert.is((await request('empty.test', '/')).status, 503);
  const r502 = await request('alldead.test', '/');
  assert.is(r502.status, 502);
  assert.match(r502.body.toString(), /^502 Bad Gateway: node 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\) \(CHS_ERR_PROXY_UPSTREAM\)\n$/);
  const t0 = Date.now();
  const r504 = await request('slow.test', '/');
  assert.is(r504.status, 504);
  assert.match(r504.body.toString(), /did not answer within 400 ms \(CHS_ERR_PROXY_TIMEOUT\)/);
  assert.ok(Date.now() - t0 < 2000);
});

test('an idempotent request cut before its answer is retried once on another node; a POST is not', async () => {
  const g = await request('reset.test', '/', { agent: false });
  assert.is(g.status, 200);
  assert.is(g.headers['x-served-by'], 'c');
  // A POST may have been acted on: not retried.
  const p = await request('reset2.test', '/', { method: 'POST', body: Buffer.from('x'), agent: false });
  assert.is(p.status, 502);
  assert.match(p.body.toString(), /^502 Bad Gateway: node 127\.0\.0\.1:\d+ closed the connection without answering/);
});

test('streams a large body both ways (Content-Length and chunked) intact', async () => {
  const big = Buffer.alloc(8 << 20);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i * 2654435761 >>> 0, i);
  const sha = (x: Buffer) => createHash('sha256').update(x).digest('hex');
  const r1 = await request('echo.test', '/', { method: 'POST', body: big });
  assert.is(r1.status, 200);
  assert.is(r1.body.length, big.length);
  assert.is(sha(r1.body), sha(big));
  const r2 = await request('echo.test', '/', {
    method: 'PUT',
    body: async function* () { for (let i = 0; i < big.length; i += 65536) yield big.subarray(i, i + 65536); },
  });
  assert.is(r2.headers['transfer-encoding'], 'chunked');
  assert.is(sha(r2.body), sha(big));
});

test('pipelined requests are answered in order; a smuggling-shaped head gets 400', async () => {
  const out = await raw('GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n');
  const i1 = out.indexOf('a GET /1'), i2 = out.indexOf('a GET /2');
  assert.ok(i1 > 0 && i2 > i1, out);
  const bad = await raw('POST / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
  assert.match(bad, /both Transfer-Encoding and Content-Length/);
  const nohost = await raw('GET / HTTP/1.1\r\n\r\n');
  assert.match(nohost, /^HTTP\/1\.1 400 /);
  const huge = await raw(`GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: ${'x'.repeat(20000)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);
  const old = await raw('GET /old HTTP/1.0\r\nHost: a.test\r\n\r\n');
  assert.match(old, /^HTTP\/1\.[01] 200 /);
  assert.match(old, /a GET \/old/);
});

test('WebSocket upgrades pass through both ways', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers: { host: 'ws.test' } });
  const got: string[] = [];
  ws.on('message', (m) => got.push(String(m)));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  ws.send('ping');
  await waitFor('echo', () => got.includes('echo ping'), 3000);
  assert.is(got[0], 'hello 127.0.0.1');
  ws.close();
});

test('HTTPS when a cert and key are configured', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    https.get(`https://127.0.0.1:${tlsPort}/s`, { rejectUnauthorized: false }, (res) => {
      let s = '';
      res.on('data', (d) => { s += d; });
      res.on('end', () => resolve(s));
    }).on('error', reject);
  });
  assert.is(body, 'a GET /s\n');
  assert.is(a.seen[a.seen.length - 1]!['x-forwarded-proto'], 'https');
});

test('reloading the proxy under keep-alive traffic drops no request', async () => {
  const ka = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const workers = Array.from({ length: 8 }, async () => {
    while (running) {
      try {
        const r = await request('pair.test', '/', { agent: ka });
        if (r.status === 200) ok++;
        else failures.push(`status ${r.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  });
  await waitFor('traffic', () => ok > 50);
  await th.host.reload('proxy');
  const after = ok;
  await waitFor('traffic after the reload', () => ok > after + 50);
  running = false;
  await Promise.all(workers);
  ka.destroy();
  assert.equal(failures, []);
  assert.is(th.host.instances.get('proxy')!.status().reloads, 1);
});

test.run();
