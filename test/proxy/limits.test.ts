// The proxy against hostile clients, on real slow sockets (config shortens the deadlines):
// a head trickled a byte at a time is cut off at headTimeoutMs with 408, on a fresh and on a
// keep-alive connection, while a keep-alive connection that is merely idle stays; a request body
// that stalls is answered 408 and the node's request aborted; one address holds at most
// maxPerAddress connections (the next gets 429 and is closed) and gets room again when they go;
// a head with a bare LF, a bare CR or a NUL in a header value is refused 400 and never reaches
// the node. Each refusal is logged with its CHS_ERR_PROXY_* code.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import type net from 'node:net';
import { freePort } from '../helpers/diod.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { assertPerAddressCap, closeAll, HttpConn, sleep } from '../helpers/slow-http.ts';

interface Backend { port: number; url: string; server: http.Server; requests: string[]; connections: number; close(): Promise<void> }

async function backend(handler?: http.RequestListener): Promise<Backend> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (handler) return handler(req, res);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
  });
  const b: Backend = {
    port: 0, url: '', server, requests, connections: 0,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  server.on('connection', () => { b.connections++; });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as net.AddressInfo).port;
  b.url = `http://127.0.0.1:${b.port}`;
  return b;
}

const HEAD_MS = 500;
let ok: Backend, sink: Backend, strict: Backend;
let aborted = 0;
let project: Project;
let th: TestHost;
let port = 0;
let capPort = 0;

test.before(async () => {
  ok = await backend();
  // reads the body; counts requests the proxy gave up on mid-body
  sink = await backend((req, res) => {
    req.on('aborted', () => { aborted++; });
    req.resume();
    req.on('end', () => res.end('got it\n'));
  });
  strict = await backend();
  port = await freePort();
  capPort = await freePort();
  const routes = [
    { host: 'ok.test', prefix: '/', nodes: [ok.url] },
    { host: 'sink.test', prefix: '/', nodes: [sink.url] },
    { host: 'strict.test', prefix: '/', nodes: [strict.url] },
  ];
  project = await makeProject({
    modules: {}, copy: ['proxy'], role: ['proxy', 'proxy#cap'],
    config: {
      modules: {
        proxy: { port, routes, headTimeoutMs: HEAD_MS, bodyTimeoutMs: HEAD_MS, idleTimeoutMs: 60_000 },
        'proxy#cap': { port: capPort, routes, maxPerAddress: 3 },
      },
    },
  });
  th = await startHost(project);
  for (const id of ['proxy', 'proxy#cap']) assert.is(th.host.instances.get(id)?.state, 'active', th.host.instances.get(id)?.lastError?.message);
});

test.after(async () => {
  closeAll();
  await th?.close();
  await project?.cleanup();
  for (const b of [ok, sink, strict]) await b?.close();
});

const logged = (code: string) => th.logs.some((r) => JSON.stringify(r).includes(code));

test('a head trickled a byte at a time is cut off at headTimeoutMs with 408', async () => {
  const c = await HttpConn.connect(port);
  c.trickle('GET / HTTP/1.1\r\nHost: ok.test\r\nX-Slow: ' + 'a'.repeat(200), 20);
  await c.waitClosed('the trickling connection to be closed', 5000);
  assert.ok(c.sent >= 10, `it was sending (${c.sent} bytes)`);
  assert.ok(c.closedAt - c.openedAt >= HEAD_MS * 0.8, 'not closed before the head deadline');
  assert.equal(c.statuses(), [408]);
  assert.match(c.text, /Connection: close/);
  assert.match(c.text, /CHS_ERR_PROXY_HEAD_TIMEOUT/);
  assert.ok(logged('CHS_ERR_PROXY_HEAD_TIMEOUT'), 'the time-out is in the log with its code');
});

test('keep-alive: each head has its own deadline; an idle connection between requests is not cut by it', async () => {
  const c = await HttpConn.connect(port);
  c.write('GET /1 HTTP/1.1\r\nHost: ok.test\r\n\r\n');
  assert.equal(await c.waitAnswers(1, 'the first answer'), [200]);
  await sleep(HEAD_MS * 2); // idle, not a head under way: idleTimeoutMs applies
  assert.not.ok(c.closed, 'an idle keep-alive connection was closed by the head deadline');
  c.write('GET /2 HTTP/1.1\r\nHost: ok.test\r\n\r\n');
  assert.equal(await c.waitAnswers(2, 'the second answer'), [200, 200]);
  c.trickle('GET /3 HTTP/1.1\r\nHost: ok.test\r\nX-Slow: ' + 'b'.repeat(200), 20);
  await c.waitClosed('the connection trickling its third head to be closed', 5000);
  assert.equal(c.statuses(), [200, 200, 408]);
});

test('a request body that stalls is answered 408 and the node\'s request is aborted', async () => {
  const before = aborted;
  const c = await HttpConn.connect(port);
  c.write('POST /up HTTP/1.1\r\nHost: sink.test\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100));
  await c.waitClosed('the stalled upload to be closed', 5000);
  assert.equal(c.statuses(), [408]);
  assert.match(c.text, /CHS_ERR_PROXY_BODY_TIMEOUT/);
  await waitFor('the node to see its request aborted', () => aborted > before, 3000);
  assert.ok(logged('CHS_ERR_PROXY_BODY_TIMEOUT'));
});

test('a body that keeps coming slowly is not cut off', async () => {
  const c = await HttpConn.connect(port);
  c.write('POST /up HTTP/1.1\r\nHost: sink.test\r\nContent-Length: 12\r\n\r\n');
  c.trickle('abcdefghijkl', HEAD_MS / 4, false); // 12 bytes over ~1.5 body deadlines, each well within one
  assert.equal(await c.waitAnswers(1, 'the answer to the slow body', 5000), [200]);
});

test('one address holds maxPerAddress connections; the next gets 429 and is closed; room again when they go', async () => {
  await assertPerAddressCap({ port: capPort, host: 'ok.test', cap: 3, code: 'CHS_ERR_PROXY_REFUSED', logged });
});

for (const [what, value] of [['a bare LF', 'a\nb'], ['a bare CR', 'a\rb'], ['a NUL', 'a\0b'], ['a bare LF that would start a header', 'x\nContent-Length: 5']] as const) {
  test(`a header value with ${what} is refused 400 and never reaches the node`, async () => {
    const before = { connections: strict.connections, requests: strict.requests.length };
    const c = await HttpConn.connect(port);
    c.write(`POST / HTTP/1.1\r\nHost: strict.test\r\nX-Evil: ${value}\r\nContent-Length: 0\r\n\r\n`);
    await c.waitClosed('the refused connection to be closed');
    assert.equal(c.statuses(), [400]);
    assert.match(c.text, /CHS_ERR_PROXY_BAD_REQUEST/);
    await sleep(50);
    assert.is(strict.connections, before.connections, 'the node got a connection');
    assert.is(strict.requests.length, before.requests, 'the node got a request');
  });
}

test('the same request without the bad byte goes through (the route works)', async () => {
  const c = await HttpConn.connect(port);
  c.write('GET / HTTP/1.1\r\nHost: strict.test\r\nX-Fine: a b\r\n\r\n');
  assert.equal(await c.waitAnswers(1, 'the answer'), [200]);
  c.destroy();
});

test.run();
