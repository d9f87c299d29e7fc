// Uploads on real HTTP: a token from the service, progress over a real WebSocket, the body
// streamed to a temp file with its sha256 checked and committed (compressed when text). Every
// failure leaves nothing behind (no temp file, no object) and gets a short 4xx: a client that
// drops the socket mid-body, an oversized body (declared or chunked), a missing / unknown /
// expired / used-up token, a sha256 mismatch; and a bad token cannot open a progress channel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import WebSocket from 'ws';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { agent, request, service } from './helpers.ts';

let project: Project;
let th: TestHost;
let storeDir: string;
let base = '';
const sockets: WebSocket[] = [];
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

test.before(async () => {
  storeDir = await mkdtemp(join(tmpdir(), 'chs-fs-store-'));
  project = await makeProject({
    modules: {},
    copy: ['fileserver'],
    role: ['fileserver'],
    config: { modules: { fileserver: { port: 0, storeDir, uploadMaxBytes: 8 * 1024 * 1024, uploadSyncBytes: 256 * 1024 } } },
  });
  th = await startHost(project);
  assert.is(th.host.instances.get('fileserver')?.state, 'active', th.host.instances.get('fileserver')?.lastError?.message);
  base = service(th).url();
});

test.after(async () => {
  for (const ws of sockets) ws.terminate();
  agent.destroy();
  await th?.close();
  await project?.cleanup();
  await rm(storeDir, { recursive: true, force: true });
});

async function objects(): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(storeDir, 'objects'))) for (const f of await readdir(join(storeDir, 'objects', d))) out.push(f);
  return out.sort();
}
const temps = () => readdir(join(storeDir, 'tmp'));

/** Opens a progress socket and collects its messages. */
async function channel(url: string): Promise<{ ws: WebSocket; messages: any[] }> {
  const ws = new WebSocket(url);
  sockets.push(ws);
  const messages: any[] = [];
  ws.on('message', (d) => messages.push(JSON.parse(String(d))));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('progress socket did not open in 3 s')), 3000);
    ws.once('open', () => { clearTimeout(t); resolve(); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
    ws.once('unexpected-response', (_req, res) => { clearTimeout(t); reject(new Error(`refused with ${res.statusCode}`)); });
  });
  await waitFor('the ready message', () => messages.some((m) => m.type === 'ready'), 3000);
  return { ws, messages };
}

test('happy path: progress over WebSocket, sha256 checked, committed with codings, served', async () => {
  const t = service(th).issueToken();
  const { messages } = await channel(t.progressUrl);
  const body = Buffer.from('line of compressible text for the upload test\n'.repeat(40_000)); // ~1.8 MB
  const r = await request(`${t.uploadUrl}?name=docs/notes.txt&sha256=${sha(body)}`, {
    method: 'POST', body, headers: { authorization: `Bearer ${t.token}` }, agent: false,
  });
  assert.is(r.status, 201, r.body.toString());
  const info = JSON.parse(r.body.toString());
  assert.is(info.sha256, sha(body));
  assert.is(info.size, body.length);
  assert.is(info.url, `/static/${sha(body)}/docs/notes.txt`);
  assert.equal(info.codings.sort(), ['br', 'gzip']);
  await waitFor('the done message', () => messages.some((m) => m.type === 'done'), 3000);
  const progress = messages.filter((m) => m.type === 'progress');
  assert.ok(progress.length >= 2, `several progress messages (${progress.length})`);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].received >= progress[i - 1].received, 'received only grows');
  assert.is(progress[progress.length - 1].received, body.length);
  assert.is(progress[0].total, body.length);
  const done = messages.find((m) => m.type === 'done');
  assert.is(done.sha256, sha(body));
  assert.equal(await temps(), []);
  assert.ok((await objects()).includes(sha(body)) && (await objects()).includes(`${sha(body)}.br`));
  const served = await request(`${base}${info.url}`, { headers: { 'accept-encoding': 'br' } });
  assert.is(served.status, 200);
  assert.is(served.headers['content-type'], 'text/plain; charset=utf-8');
  assert.ok(brotliDecompressSync(served.body).equals(body));
  // the token was single-use
  const again = await request(`${t.uploadUrl}?token=${t.token}`, { method: 'POST', body: 'x', agent: false });
  assert.is(again.status, 403);
  assert.match(again.body.toString(), /token/);
});

test('an interrupted upload (client destroys the socket mid-body) leaves nothing; the token can be reused', async () => {
  const before = await objects();
  const t = service(th).issueToken();
  const { messages } = await channel(t.progressUrl);
  const failuresBefore = (service(th).stats() as { uploadFailures: number }).uploadFailures;
  await new Promise<void>((resolve) => {
    const req = http.request(`${t.uploadUrl}?token=${t.token}`, { method: 'POST', agent: false, headers: { 'content-length': String(4 * 1024 * 1024) } });
    req.on('error', () => resolve());
    req.write(Buffer.alloc(512 * 1024, 1));
    setTimeout(() => { req.destroy(); resolve(); }, 150);
  });
  await waitFor('the failure to be counted', () => (service(th).stats() as { uploadFailures: number }).uploadFailures === failuresBefore + 1, 3000);
  await waitFor('no temp file', async () => (await temps()).length === 0, 3000);
  assert.equal(await objects(), before);
  assert.ok(messages.some((m) => m.type === 'error' && m.status === 400), 'an error on the channel');
  const ok = await request(`${t.uploadUrl}?token=${t.token}`, { method: 'POST', body: 'retry works', agent: false });
  assert.is(ok.status, 201, ok.body.toString());
});

test('oversized uploads get 413 (declared length, or chunked past the limit) and leave nothing', async () => {
  const before = await objects();
  const t = service(th).issueToken({ maxBytes: 1000, uses: 3 });
  const declared = await request(`${t.uploadUrl}?token=${t.token}`, { method: 'POST', body: Buffer.alloc(5000), agent: false });
  assert.is(declared.status, 413);
  assert.match(declared.body.toString(), /too large/);
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(`${t.uploadUrl}?token=${t.token}`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const timer = setTimeout(() => reject(new Error('no answer to the chunked upload in 3 s')), 3000);
    req.on('close', () => clearTimeout(timer));
    req.write(Buffer.alloc(800));
    setTimeout(() => req.write(Buffer.alloc(800)), 20);
  });
  assert.is(chunked.status, 413);
  await waitFor('no temp file', async () => (await temps()).length === 0, 3000);
  assert.equal(await objects(), before);
  // the service limit applies too: the config's uploadMaxBytes is 8 MiB
  const big = service(th).issueToken({ maxBytes: 1e12 });
  assert.is(big.maxBytes, 8 * 1024 * 1024);
});

test('bad tokens: missing 401, unknown 403, expired 403, revoked 403; a bad token cannot open a progress channel', async () => {
  const url = `${base}/upload`;
  const missing = await request(url, { method: 'POST', body: 'x', agent: false });
  assert.is(missing.status, 401);
  assert.is(missing.body.toString(), 'upload token required\n');
  assert.is((await request(url, { method: 'POST', body: 'x', agent: false, headers: { authorization: 'Bearer nope' } })).status, 403);
  const expired = service(th).issueToken({ ttlMs: 1 });
  await new Promise((r) => setTimeout(r, 10));
  const e = await request(`${url}?token=${expired.token}`, { method: 'POST', body: 'x', agent: false });
  assert.is(e.status, 403);
  assert.match(e.body.toString(), /expired/);
  const revoked = service(th).issueToken();
  assert.ok(service(th).revokeToken(revoked.token));
  assert.is((await request(`${url}?token=${revoked.token}`, { method: 'POST', body: 'x', agent: false })).status, 403);
  try {
    await channel(`${base.replace('http', 'ws')}/upload/progress?token=nope`);
    assert.unreachable('the channel opened');
  } catch (err) {
    assert.match((err as Error).message, /refused with 403/);
  }
  assert.is((await request(`${url}?token=x`, { method: 'GET', agent: false })).status, 405);
  assert.equal(await temps(), []);
});

test('a sha256 mismatch gets 422 and leaves nothing; a malformed sha256 gets 400', async () => {
  const before = await objects();
  const t = service(th).issueToken({ uses: 2 });
  const body = 'some content that will not match';
  const r = await request(`${t.uploadUrl}?token=${t.token}`, { method: 'POST', body, agent: false, headers: { 'x-content-sha256': sha('other') } });
  assert.is(r.status, 422);
  assert.match(r.body.toString(), /sha256 mismatch/);
  const bad = await request(`${t.uploadUrl}?token=${t.token}&sha256=xyz`, { method: 'POST', body, agent: false });
  assert.is(bad.status, 400);
  assert.equal(await temps(), []);
  assert.equal(await objects(), before);
});

test.run();
