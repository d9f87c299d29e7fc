// The fileserver against hostile clients, on real slow sockets (config shortens the deadlines):
// a head trickled a byte at a time is cut off with 408 (in the fast lane, and on a keep-alive
// connection node:http kept after the lane handed it over), an idle keep-alive connection is not;
// an upload that stalls after its headers is answered 408 and its temp file and fd are gone at
// once; one address holds at most maxPerAddress connections (the next gets 429); and the fast
// lane refuses with 400 a NUL or bare LF in a header, an HTTP/0.9-style request line and a
// second Host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { assertPerAddressCap, closeAll, HttpConn, sleep } from '../helpers/slow-http.ts';
import { port, service } from './helpers.ts';
import { fdsUnder } from '../helpers/fds.ts';

const HEAD_MS = 500;
let project: Project;
let th: TestHost;
let storeDir: string;
let capStore: string;
let assetsDir: string;
let p = 0;
let capPort = 0;

test.before(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'chs-fs-limits-'));
  capStore = await mkdtemp(join(tmpdir(), 'chs-fs-limits-cap-'));
  assetsDir = await mkdtemp(join(tmpdir(), 'chs-fs-limits-assets-'));
  await writeFile(join(assetsDir, 'index.html'), '<p>hi</p>\n');
  project = await makeProject({
    modules: {}, copy: ['fileserver'], role: ['fileserver', 'fileserver#cap'],
    config: {
      modules: {
        fileserver: { port: 0, storeDir, assetsDir, headTimeoutMs: HEAD_MS, bodyTimeoutMs: HEAD_MS, idleTimeoutMs: 60_000 },
        'fileserver#cap': { port: 0, storeDir: capStore, assetsDir, maxPerAddress: 3, mountPath: '/fileserver-cap' },
      },
    },
  });
  th = await startHost(project);
  for (const id of ['fileserver', 'fileserver#cap']) assert.is(th.host.instances.get(id)?.state, 'active', th.host.instances.get(id)?.lastError?.message);
  p = port(th);
  capPort = port(th, 'fileserver#cap');
});

test.after(async () => {
  closeAll();
  await th?.close();
  await project?.cleanup();
  for (const d of [storeDir, capStore, assetsDir]) if (d) await rm(d, { recursive: true, force: true });
});

const logged = (code: string) => th.logs.some((r) => JSON.stringify(r).includes(code));
const temps = () => readdir(join(storeDir, 'tmp'));


test('a head trickled a byte at a time is cut off at headTimeoutMs with 408', async () => {
  const c = await HttpConn.connect(p);
  c.trickle('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(200), 20);
  await c.waitClosed('the trickling connection to be closed', 5000);
  assert.ok(c.sent >= 10, `it was sending (${c.sent} bytes)`);
  assert.ok(c.closedAt - c.openedAt >= HEAD_MS * 0.8, 'not closed before the head deadline');
  assert.equal(c.statuses(), [408]);
  assert.match(c.text, /Connection: close/);
  assert.ok(logged('CHS_ERR_FILESERVER_HEAD_TIMEOUT'), 'the time-out is in the log with its code');
});

test('keep-alive in the fast lane: idle between requests is fine, a trickled next head is cut off', async () => {
  const c = await HttpConn.connect(p);
  c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.equal(await c.waitAnswers(1, 'the first answer'), [200]);
  await sleep(HEAD_MS * 2);
  assert.not.ok(c.closed, 'an idle keep-alive connection was closed by the head deadline');
  c.trickle('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'b'.repeat(200), 20);
  await c.waitClosed('the connection trickling its second head to be closed', 5000);
  assert.equal(c.statuses(), [200, 408]);
});

test('keep-alive on node:http (after the lane handed the connection over): a trickled next head is cut off', async () => {
  const c = await HttpConn.connect(p);
  c.write('POST /nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'); // not the lane's: node:http keeps the connection
  assert.equal(await c.waitAnswers(1, 'the 405'), [405]);
  c.trickle('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'c'.repeat(200), 20);
  await c.waitClosed('the connection trickling its second head to be closed', 5000);
  assert.equal(c.statuses(), [405, 408]);
});

test('an upload that stalls after its headers: 408, temp file and fd released at once, token use given back', async () => {
  const t = service(th).issueToken({ uses: 1 });
  assert.is((await temps()).length, 0);
  const c = await HttpConn.connect(p);
  c.write(`POST /upload?name=stall.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Length: 100000\r\n\r\n` + 'z'.repeat(1000));
  await waitFor('the upload\'s temp file and fd', async () => (await temps()).length === 1 && (await fdsUnder(join(storeDir, 'tmp') + '/')) === 1, 2000);
  await c.waitClosed('the stalled upload\'s connection to be closed', 5000);
  assert.equal(c.statuses(), [408]);
  assert.match(c.text, /upload stalled/);
  assert.equal(await temps(), [], 'the temp file is gone');
  assert.is(await fdsUnder(join(storeDir, 'tmp') + '/'), 0, 'the temp file\'s fd is closed');
  assert.ok(logged('CHS_ERR_FILESERVER_BODY_TIMEOUT'));
  // the token's use was given back: the same token uploads now
  const ok = await HttpConn.connect(p);
  ok.write(`POST /upload?name=ok.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.token}\r\nContent-Length: 3\r\n\r\nabc`);
  assert.equal(await ok.waitAnswers(1, 'the upload with the same token'), [201]);
  ok.destroy();
});

test('one address holds maxPerAddress connections; the next gets 429 and is closed; room again when they go', async () => {
  await assertPerAddressCap({ port: capPort, host: 'x', cap: 3, code: 'CHS_ERR_FILESERVER_REFUSED', logged });
});

const refused: Array<[string, string]> = [
  ['a NUL in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'],
  ['a bare LF in a header value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n'],
  ['an HTTP/0.9-style request line (no version)', 'GET /\r\n\r\n'],
  ['an HTTP/0.9-style request line, before any blank line', 'GET /index.html\r\n'],
  ['two Host headers', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'],
  ['two Host headers on a request the lane would pass on', 'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nHost: y\r\n\r\n'],
];
for (const [what, head] of refused) {
  test(`the fast lane refuses ${what} with 400 and closes`, async () => {
    const c = await HttpConn.connect(p);
    c.write(head);
    await c.waitClosed('the refused connection to be closed');
    assert.equal(c.statuses(), [400]);
    assert.match(c.text, /CHS_ERR_FILESERVER_BAD_REQUEST/);
  });
}

test('the same requests, well formed, are served', async () => {
  const c = await HttpConn.connect(p);
  c.write('GET / HTTP/1.1\r\nHost: x\r\nX-A: a b\r\n\r\n');
  assert.equal(await c.waitAnswers(1, 'the answer'), [200]);
  c.destroy();
});

test.run();
