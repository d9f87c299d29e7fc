// The fileserver's read side on real HTTP (port 0): in-memory assets, the sha256 store under
// /static/<sha>/ and /static/<version>/, virtual hosts; strong ETags and 304, byte ranges
// (206, 416, If-Range), br/gzip negotiation with Vary, content types, HEAD, and the traversal
// shapes (.., %2e%2e, encoded slash, backslash, NUL, absolute), each refused with nothing from
// outside served. Requests go over keep-alive sockets, so both the fast lane and node:http
// answer them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { makeProject, startHost, type Project, type TestHost } from '../helpers/project.ts';
import { agent, port, rawRequest, request, service } from './helpers.ts';

let project: Project;
let th: TestHost;
let assetsDir: string;
let outside: string;
let base = '';
const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';
const js = 'export const answer = 42;\n'.repeat(200);
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

test.before(async () => {
  outside = await mkdtemp(join(tmpdir(), 'chs-fs-outside-'));
  assetsDir = join(outside, 'app');
  await mkdir(join(assetsDir, 'css'), { recursive: true });
  await writeFile(join(assetsDir, 'index.html'), '<!doctype html><title>app</title>\n');
  await writeFile(join(assetsDir, 'app.js'), js);
  await writeFile(join(assetsDir, 'css', 'site.css'), 'body { color: red }\n'.repeat(50));
  await writeFile(join(assetsDir, 'logo.png'), Buffer.alloc(2000, 7));
  await writeFile(join(outside, 'secret.txt'), SECRET);
  project = await makeProject({
    modules: {},
    copy: ['fileserver'],
    role: ['fileserver'],
    config: { modules: { fileserver: { port: 0, assetsDir } } },
  });
  th = await startHost(project);
  assert.is(th.host.instances.get('fileserver')?.state, 'active', th.host.instances.get('fileserver')?.lastError?.message);
  base = service(th).url();
});

test.after(async () => {
  agent.destroy();
  await th?.close();
  await project?.cleanup();
  await rm(outside, { recursive: true, force: true });
});

test('assets are served from memory with content type, strong ETag and no-cache', async () => {
  const r = await request(`${base}/app.js`);
  assert.is(r.status, 200);
  assert.is(r.body.toString(), js);
  assert.is(r.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.is(r.headers.etag, `"${sha(js)}"`);
  assert.is(r.headers['cache-control'], 'no-cache');
  assert.is(r.headers['accept-ranges'], 'bytes');
  assert.is(r.headers.vary, 'Accept-Encoding');
  assert.ok(r.headers.date, 'a Date header');
  const index = await request(`${base}/`);
  assert.is(index.status, 200);
  assert.is(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(index.body.toString(), /<title>app<\/title>/);
  assert.is((await request(`${base}/css/site.css`)).headers['content-type'], 'text/css; charset=utf-8');
  const png = await request(`${base}/logo.png`, { headers: { 'accept-encoding': 'gzip, br' } });
  assert.is(png.headers['content-type'], 'image/png');
  assert.is(png.headers['content-encoding'], undefined, 'images are not compressed');
  assert.is(png.headers.vary, undefined);
  assert.is((await request(`${base}/missing.js`)).status, 404);
  // many requests on kept-alive sockets: the fast lane answered most
  for (let i = 0; i < 20; i++) assert.is((await request(`${base}/app.js`)).status, 200);
  const st = service(th).stats() as { fastLane: { fast: number } };
  assert.ok(st.fastLane.fast >= 20, `fast lane used (${st.fastLane.fast})`);
});

test('If-None-Match answers 304 (exact, weak, a coding\'s tag, a list, *); a stale tag gets 200', async () => {
  const tag = `"${sha(js)}"`;
  for (const inm of [tag, `W/${tag}`, `"${sha(js)}-br"`, `"nope", ${tag}`, '*']) {
    const r = await request(`${base}/app.js`, { headers: { 'if-none-match': inm } });
    assert.is(r.status, 304, `If-None-Match: ${inm}`);
    assert.is(r.body.length, 0);
    assert.is(r.headers.etag, tag);
    assert.is(r.headers['cache-control'], 'no-cache');
  }
  const fresh = await request(`${base}/app.js`, { headers: { 'if-none-match': `"${'0'.repeat(64)}"` } });
  assert.is(fresh.status, 200);
});

test('br preferred, gzip next, q=0 refuses, identity otherwise; each coding has its own ETag and Vary', async () => {
  const br = await request(`${base}/app.js`, { headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.is(br.headers['content-encoding'], 'br');
  assert.is(br.headers.etag, `"${sha(js)}-br"`);
  assert.is(br.headers.vary, 'Accept-Encoding');
  assert.is(brotliDecompressSync(br.body).toString(), js);
  assert.ok(br.body.length < js.length / 5);
  assert.is(Number(br.headers['content-length']), br.body.length);
  const gz = await request(`${base}/app.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.is(gz.headers['content-encoding'], 'gzip');
  assert.is(gunzipSync(gz.body).toString(), js);
  const noBr = await request(`${base}/app.js`, { headers: { 'accept-encoding': 'br;q=0, gzip;q=0.5' } });
  assert.is(noBr.headers['content-encoding'], 'gzip');
  const none = await request(`${base}/app.js`, { headers: { 'accept-encoding': 'identity' } });
  assert.is(none.headers['content-encoding'], undefined);
  assert.is(none.body.toString(), js);
  const star = await request(`${base}/app.js`, { headers: { 'accept-encoding': '*' } });
  assert.is(star.headers['content-encoding'], 'br');
});

test('Range: 206 for one range (a-b, a-, -n), 416 past the end, If-Range mismatch gives 200, HEAD has no body', async () => {
  const buf = Buffer.from(js);
  const r1 = await request(`${base}/app.js`, { headers: { range: 'bytes=10-19', 'accept-encoding': 'br' } });
  assert.is(r1.status, 206);
  assert.is(r1.headers['content-range'], `bytes 10-19/${buf.length}`);
  assert.is(r1.headers['content-encoding'], undefined, 'ranges are of the identity bytes');
  assert.equal(r1.body, buf.subarray(10, 20));
  const r2 = await request(`${base}/app.js`, { headers: { range: `bytes=${buf.length - 5}-` } });
  assert.equal(r2.body, buf.subarray(buf.length - 5));
  const r3 = await request(`${base}/app.js`, { headers: { range: 'bytes=-7' } });
  assert.is(r3.headers['content-range'], `bytes ${buf.length - 7}-${buf.length - 1}/${buf.length}`);
  const r4 = await request(`${base}/app.js`, { headers: { range: `bytes=${buf.length}-` } });
  assert.is(r4.status, 416);
  assert.is(r4.headers['content-range'], `bytes */${buf.length}`);
  const r5 = await request(`${base}/app.js`, { headers: { range: 'bytes=0-3', 'if-range': '"other"' } });
  assert.is(r5.status, 200);
  assert.is(r5.body.length, buf.length);
  const r6 = await request(`${base}/app.js`, { headers: { range: 'bytes=0-3', 'if-range': `"${sha(js)}"` } });
  assert.is(r6.status, 206);
  const head = await request(`${base}/app.js`, { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.body.length, 0);
  assert.is(head.headers['content-length'], String(buf.length));
  const post = await request(`${base}/app.js`, { method: 'POST', body: 'x' });
  assert.is(post.status, 405);
});

test('store objects under /static/<sha256>/<name> and /static/<version>/<path>: immutable, typed, compressed, ranged', async () => {
  const svc = service(th);
  const css = 'h1 { font-weight: bold }\n'.repeat(100);
  const put = await svc.put(css, 'site.css');
  assert.is(put.sha256, sha(css));
  assert.equal(put.codings.sort(), ['br', 'gzip']);
  const big = Buffer.alloc(3 * 1024 * 1024, 'abcdefgh'); // bigger than memoryMaxFileBytes below? no: served from memory
  const bigPut = await svc.put(big, 'blob.bin');
  assert.equal(bigPut.codings, []);
  const r = await request(`${base}/static/${put.sha256}/site.css`, { headers: { 'accept-encoding': 'gzip' } });
  assert.is(r.status, 200);
  assert.is(r.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.is(r.headers['content-type'], 'text/css; charset=utf-8');
  assert.is(r.headers['content-encoding'], 'gzip');
  assert.is(gunzipSync(r.body).toString(), css);
  const bare = await request(`${base}/static/${put.sha256}`);
  assert.is(bare.headers['content-type'], 'application/octet-stream');
  assert.is(bare.body.toString(), css);
  const rng = await request(`${base}/static/${bigPut.sha256}/blob.bin`, { headers: { range: 'bytes=1048570-1048580' } });
  assert.is(rng.status, 206);
  assert.equal(rng.body, big.subarray(1048570, 1048581));
  assert.is((await request(`${base}/static/${'f'.repeat(64)}/x.css`)).status, 404);
  await svc.publish('v1', { 'css/site.css': put.sha256, 'blob.bin': bigPut.sha256 });
  const v = await request(`${base}/static/v1/css/site.css`);
  assert.is(v.status, 200);
  assert.is(v.body.toString(), css);
  assert.is(v.headers.etag, `"${put.sha256}"`);
  assert.is(v.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.is((await request(`${base}/static/v1/other.css`)).status, 404);
  assert.is((await request(`${base}/static/v2/css/site.css`)).status, 404);
  const inm = await request(`${base}/static/v1/css/site.css`, { headers: { 'if-none-match': `"${put.sha256}"` } });
  assert.is(inm.status, 304);
  try {
    await svc.publish('v3', { 'a.css': 'e'.repeat(64) });
    assert.unreachable('publishing a missing object must fail');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_FILESERVER_VERSION');
  }
});

test('big store files stream from disk (a small memoryMaxFileBytes): whole, ranged, conditional', async () => {
  await th.host.configs.set('fileserver', { port: 0, assetsDir, memoryMaxFileBytes: 1024 });
  base = service(th).url();
  const data = Buffer.alloc(2 * 1024 * 1024 + 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const p = await service(th).put(data, 'big.bin');
  const r = await request(`${base}/static/${p.sha256}/big.bin`);
  assert.is(r.status, 200);
  assert.ok(r.body.equals(data), 'the whole file');
  const rng = await request(`${base}/static/${p.sha256}/big.bin`, { headers: { range: 'bytes=1000000-1999999' } });
  assert.is(rng.status, 206);
  assert.ok(rng.body.equals(data.subarray(1000000, 2000000)));
  assert.is((await request(`${base}/static/${p.sha256}/big.bin`, { headers: { 'if-none-match': `"${p.sha256}"` } })).status, 304);
  const st = service(th).stats() as { store: { openFiles: number } };
  assert.ok(st.store.openFiles >= 1, 'its descriptor is cached');
});

test('concurrent streams of different files reuse read buffers without mixing bytes', async () => {
  await th.host.configs.set('fileserver', { port: 0, assetsDir, memoryMaxFileBytes: 1024, streamChunkBytes: 64 * 1024 });
  base = service(th).url();
  const files = [1, 2].map((k) => {
    const d = Buffer.alloc(12 * 1024 * 1024 + 17 * k);
    for (let i = 0; i < d.length; i++) d[i] = (i * (k + 2) + k) & 0xff;
    return d;
  });
  const puts = await Promise.all(files.map((d, k) => service(th).put(d, `mix${k}.bin`)));
  // Slow readers: each waits before reading, so the server's writes queue behind full socket
  // buffers while it goes on reading the next chunks (the case where a reused buffer would be
  // overwritten before its bytes were sent).
  const slowGet = (url: string, waitMs: number): Promise<Buffer> => new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      res.pause();
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
      setTimeout(() => res.resume(), waitMs);
    }).on('error', reject);
  });
  for (let round = 0; round < 2; round++) {
    const got = await Promise.all(Array.from({ length: 6 }, (_, i) => slowGet(`${base}/static/${puts[i % 2]!.sha256}/mix${i % 2}.bin`, 100 + 50 * i)));
    got.forEach((b, i) => assert.ok(b.equals(files[i % 2]!), `stream ${i} of round ${round} differs from its file`));
  }
});

test('virtual hosts: Host + key -> object, from config; other hosts get the assets', async () => {
  const svc = service(th);
  const home = await svc.put('<h1>example</h1>\n', 'index.html');
  const about = await svc.put('about us\n', 'about.txt');
  await th.host.configs.set('fileserver', { port: 0, assetsDir, vhosts: { 'example.test': { '/': home.sha256, '/about': about.sha256 } } });
  base = service(th).url();
  const get = (path: string, host: string) => request(`${base}${path}`, { headers: { host } });
  const r = await get('/', 'example.test');
  assert.is(r.status, 200);
  assert.is(r.body.toString(), '<h1>example</h1>\n');
  assert.is(r.headers['cache-control'], 'no-cache');
  assert.is((await get('/about', 'EXAMPLE.test:8080')).body.toString(), 'about us\n');
  assert.is((await get('/app.js', 'example.test')).status, 404, 'a vhost owns its host');
  assert.is((await get('/app.js', 'other.test')).body.toString(), js);
  assert.equal(service(th).vhosts(), { 'example.test': { '/': home.sha256, '/about': about.sha256 } });
});

test('traversal shapes are refused with 400/404 and nothing from outside is served', async () => {
  const p = port(th);
  const attempts = [
    '/../secret.txt', '/css/../../secret.txt', '/%2e%2e/secret.txt', '/%2E%2E/%2e%2e/secret.txt', '/css/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/..%2fsecret.txt', '/..\\secret.txt', '/css\\..\\..\\secret.txt', '/%5c..%5csecret.txt', '/app.js%00.png', '/app.js\0',
    '//etc/passwd', `/${outside}/secret.txt`, '/static/../../secret.txt', '/static/%2e%2e/secret.txt',
    `/static/v1/..%2f..%2fsecret.txt`, '/./app.js', '/%2e/app.js',
  ];
  for (const path of attempts) {
    const r = await rawRequest(p, `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    assert.ok(r.status === 400 || r.status === 404, `${JSON.stringify(path)} answered ${r.status}`);
    assert.not.match(r.text, SECRET, `${JSON.stringify(path)} served the outside file`);
  }
  const abs = await rawRequest(p, `GET http://localhost${outside}/secret.txt HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  assert.ok(abs.status === 400 || abs.status === 404, `absolute-form answered ${abs.status}`);
  assert.not.match(abs.text, SECRET);
  // a symlink to the outside inside the assets dir is not followed
  const { symlink } = await import('node:fs/promises');
  await symlink(join(outside, 'secret.txt'), join(assetsDir, 'link.txt'));
  await service(th).invalidate();
  const link = await rawRequest(p, 'GET /link.txt HTTP/1.1\r\nHost: localhost\r\n\r\n');
  assert.is(link.status, 404);
});

test('pipelined requests on one socket are answered in order', async () => {
  const r = await rawRequest(port(th), 'GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\n'.replace(/$/, ''), 3000).catch((e: Error) => e);
  assert.ok(!(r instanceof Error), String(r));
  // a plain node client on a fresh socket also works
  const res = await new Promise<number>((resolve, reject) => {
    http.get(`${base}/index.html`, { agent: false }, (m) => { m.resume(); resolve(m.statusCode ?? 0); }).on('error', reject);
  });
  assert.is(res, 200);
});

test.run();
