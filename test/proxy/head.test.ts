// modules/proxy/head.ts on its own: what a request or response head turns into on the way
// through (routing fields, body framing, connection handling, the rewritten head), and the
// heads it refuses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CHUNKED, HeadError, parseRequest, parseResponse, UNTIL_CLOSE } from '../../modules/proxy/head.ts';

const req = (lines: string[]) => parseRequest(lines.join('\r\n'), '10.0.0.9', 'http');
const resp = (lines: string[], method = 'GET') => parseResponse(lines.join('\r\n'), method);

function refused(fn: () => unknown, status: number, text: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, HeadError);
    assert.is((err as HeadError).status, status);
    assert.match((err as Error).message, text);
    return;
  }
  assert.unreachable(`expected a ${status}`);
}

/** Header names in a rewritten head, lowercased, in order. */
const names = (out: string) => out.split('\r\n').slice(1).filter(Boolean).map((l) => l.slice(0, l.indexOf(':')).toLowerCase());

test('request: routing fields, keep-alive by default in 1.1, X-Forwarded-* appended', () => {
  const r = req(['GET /a/b?q=1 HTTP/1.1', 'Host: Example.COM:8080', 'Accept: */*']);
  assert.is(r.method, 'GET');
  assert.is(r.target, '/a/b?q=1');
  assert.is(r.host, 'Example.COM:8080');
  assert.is(r.hostname, 'example.com');
  assert.is(r.body, 0);
  assert.ok(r.keepAlive);
  assert.is(r.upgrade, null);
  assert.ok(r.out.startsWith('GET /a/b?q=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nAccept: */*\r\n'));
  assert.ok(r.out.endsWith('X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: Example.COM:8080\r\n\r\n'));
});

test('request: Connection tokens in any case and spacing; hop-by-hop headers and those it names dropped', () => {
  const close = req(['GET / HTTP/1.1', 'Host: h', 'Connection:  Close ']);
  assert.not.ok(close.keepAlive);
  assert.not.ok(names(close.out).includes('connection'));
  const named = req(['GET / HTTP/1.1', 'Host: h', 'Connection: keep-alive, X-Secret ,', 'X-Secret: 1', 'Keep-Alive: 5', 'TE: trailers', 'Proxy-Connection: x', 'X-Kept: 2']);
  assert.ok(named.keepAlive);
  assert.equal(names(named.out), ['host', 'x-kept', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);
  const two = req(['GET / HTTP/1.1', 'Host: h', 'Connection: x-a', 'connection: CLOSE', 'X-A: 1']);
  assert.not.ok(two.keepAlive, 'tokens from every Connection header count');
  assert.not.ok(names(two.out).includes('x-a'));
});

test('request: HTTP/1.0 keeps alive only when asked, and says so upstream', () => {
  const plain = req(['GET / HTTP/1.0']);
  assert.not.ok(plain.keepAlive);
  assert.is(plain.hostname, '');
  const ka = req(['GET / HTTP/1.0', 'Connection: Keep-Alive']);
  assert.ok(ka.keepAlive);
  assert.ok(ka.out.endsWith('Connection: keep-alive\r\n\r\n'));
});

test('request: upgrades need both Upgrade and Connection: upgrade', () => {
  const ws = req(['GET /live HTTP/1.1', 'Host: h', 'Connection: Upgrade', 'Upgrade: websocket']);
  assert.is(ws.upgrade, 'websocket');
  assert.ok(ws.out.endsWith('Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
  assert.is(req(['GET / HTTP/1.1', 'Host: h', 'Upgrade: websocket']).upgrade, null);
});

test('request: body framing; smuggling-shaped and malformed heads refused', () => {
  assert.is(req(['POST / HTTP/1.1', 'Host: h', 'Content-Length: 42']).body, 42);
  assert.is(req(['POST / HTTP/1.1', 'Host: h', 'Content-Length: 7', 'Content-Length: 7']).body, 7);
  assert.is(req(['POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: gzip, Chunked']).body, CHUNKED);
  refused(() => req(['POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked, gzip']), 400, /must end with chunked/);
  refused(() => req(['POST / HTTP/1.1', 'Host: h', 'Transfer-Encoding: chunked', 'Content-Length: 3']), 400, /smuggling/);
  refused(() => req(['POST / HTTP/1.1', 'Host: h', 'Content-Length: 3', 'Content-Length: 4']), 400, /conflicting/);
  refused(() => req(['POST / HTTP/1.1', 'Host: h', 'Content-Length: -1']), 400, /Content-Length/);
  refused(() => req(['GET / HTTP/1.1']), 400, /without a Host/);
  refused(() => req(['GET / HTTP/1.1', 'Host: a', 'Host: b']), 400, /more than one Host/);
  refused(() => req(['GET / HTTP/2.0', 'Host: h']), 505, /unsupported version/);
  refused(() => req(['GET / HTTP/1.1', 'Host: h', ' folded: x']), 400, /whitespace/);
  refused(() => req(['GET / HTTP/1.1', 'Host: h', 'no colon here']), 400, /malformed header/);
});

test('response: framing, reuse of the upstream connection, Connection handling', () => {
  const ok = resp(['HTTP/1.1 200 OK', 'Date: x', 'Connection: keep-alive', 'Keep-Alive: timeout=5', 'Content-Length: 12']);
  assert.is(ok.status, 200);
  assert.is(ok.body, 12);
  assert.ok(ok.reusable);
  assert.is(ok.lines, 'HTTP/1.1 200 OK\r\nDate: x\r\nContent-Length: 12\r\n');
  const closing = resp(['HTTP/1.1 200 OK', 'Connection: Close, X-Hop', 'X-Hop: 1', 'Transfer-Encoding: chunked']);
  assert.is(closing.body, CHUNKED);
  assert.not.ok(closing.reusable);
  assert.is(closing.lines, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n');
  const old = resp(['HTTP/1.0 200 OK', 'Content-Length: 1']);
  assert.not.ok(old.reusable, 'HTTP/1.0 without keep-alive');
  assert.ok(resp(['HTTP/1.0 200 OK', 'Connection: keep-alive', 'Content-Length: 1']).reusable);
  const eof = resp(['HTTP/1.1 200 OK']);
  assert.is(eof.body, UNTIL_CLOSE);
  assert.not.ok(eof.reusable);
  assert.is(resp(['HTTP/1.1 200 OK', 'Content-Length: 5'], 'HEAD').body, 0);
  assert.is(resp(['HTTP/1.1 304 Not Modified', 'Content-Length: 5']).body, 0);
  assert.is(resp(['HTTP/1.1 200 OK', 'Transfer-Encoding: chunked, gzip']).body, UNTIL_CLOSE, 'not ending in chunked: until close');
  refused(() => resp(['HTTP/1.1 200 OK', 'Content-Length: 1', 'Content-Length: 2']), 502, /conflicting/);
  refused(() => resp(['HTTP/2 200']), 502, /status line/);
});

test.run();
