// Hostile HTTP against a real node running `proxy` (in front of a backend in this process) and
// `fileserver`, with head and body deadlines shortened to 1.5 s and 8 connections per address,
// all attacks at once, from other loopback addresses:
//   - slow heads: 24 connections per server trickling a request head at 1 byte/s, 24 at 10 bytes/s;
//   - stalled bodies: 12 uploads per server that send their head and 1 KB of a 100 KB body, then
//     nothing (the fileserver's with a valid upload token, so a temp file is opened);
//   - bad heads: a bare LF, a bare CR or a NUL in a header value (proxy), NUL, bare LF, an
//     HTTP/0.9 request line and a second Host (fileserver), 3 of each;
//   - over the cap: 8 answered keep-alive connections held from one address, then 16 more from it.
// Meanwhile the operator GETs both from 127.0.0.1 on a fresh connection each time. Asserted:
// every slow head is answered 408 and closed by its deadline (not before), every stalled body
// 408, every bad head 400 without reaching the backend, every connection over the cap 429 and
// closed while the held ones stay; every operator request answered 200; the uploads' temp dir is
// empty and no descriptor of it is open; this process's descriptors come back to where they were;
// RSS grows less than 64 MiB.
import http from 'node:http';
import type net from 'node:net';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { FileserverService } from '../../modules/fileserver/index.ts';
import { freePort } from '../helpers/diod.ts';
import { makeProject, startHost, type Project, type TestHost } from '../helpers/project.ts';
import { closeAll, HttpConn } from '../helpers/slow-http.ts';
import { fdCount, fdsSettle, RssWatch, sleep, summary, until } from './lib.ts';
import { fdsUnder } from '../helpers/fds.ts';

const HEAD_MS = 1500;
const BODY_MS = 1500;
const PER_ADDRESS = 8;
const RSS_BOUND_MB = 64;
/** Closed by the node within its deadline plus this. */
const SLACK_MS = 1500;

let project: Project;
let th: TestHost;
let backend: http.Server;
let backendPort = 0;
let evil = 0;
let aborted = 0;
let proxyPort = 0;
let filePort = 0;
let storeDir = '';
let assetsDir = '';

test.before(async () => {
  backend = http.createServer((req, res) => {
    if (req.headers['x-evil'] !== undefined) evil++;
    req.on('aborted', () => { aborted++; });
    req.resume();
    req.on('end', () => res.end('ok\n'));
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  backendPort = (backend.address() as net.AddressInfo).port;
  storeDir = await mkdtemp(join(tmpdir(), 'chs-hostile-store-'));
  assetsDir = await mkdtemp(join(tmpdir(), 'chs-hostile-assets-'));
  await writeFile(join(assetsDir, 'index.html'), '<p>hi</p>\n');
  proxyPort = await freePort();
  const limits = { headTimeoutMs: HEAD_MS, bodyTimeoutMs: BODY_MS, maxPerAddress: PER_ADDRESS };
  project = await makeProject({
    modules: {}, copy: ['proxy', 'fileserver'], role: ['proxy', 'fileserver'],
    config: {
      modules: {
        proxy: { port: proxyPort, routes: [{ host: 'ok.test', prefix: '/', nodes: [`http://127.0.0.1:${backendPort}`] }], ...limits },
        fileserver: { port: 0, storeDir, assetsDir, ...limits },
      },
    },
  });
  th = await startHost(project);
  for (const id of ['proxy', 'fileserver']) assert.is(th.host.instances.get(id)?.state, 'active', th.host.instances.get(id)?.lastError?.message);
  filePort = Number(new URL(fileserver().url()).port);
});

test.after(async () => {
  closeAll();
  await th?.close();
  await project?.cleanup();
  if (backend) await new Promise<void>((r) => { backend.closeAllConnections(); backend.close(() => r()); });
  for (const d of [storeDir, assetsDir]) if (d) await rm(d, { recursive: true, force: true });
});

const fileserver = () => th.host.instances.get('fileserver')!.run!.service as FileserverService;
const uploadTemps = () => readdir(join(storeDir, 'tmp')).catch(() => [] as string[]);


/** A GET on a fresh connection from 127.0.0.1 (the operator); resolves with the status. */
function operatorGet(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', headers: { host }, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${host}:${port}: no answer in 3000 ms`)));
    req.on('error', reject);
  });
}

interface Server { name: string; port: number; host: string }

async function openMany(port: number, n: number, addresses: string[]): Promise<HttpConn[]> {
  const out: HttpConn[] = [];
  for (let i = 0; i < n; i++) out.push(await HttpConn.connect(port, addresses[i % addresses.length]));
  return out;
}

/** Slow heads: each must be answered 408 and closed within [0.8, 1] x HEAD_MS + SLACK_MS. */
async function slowHeads(s: Server, base: number, failures: string[]): Promise<number> {
  const addrs = [0, 1, 2, 3, 4, 5].map((i) => `127.0.${base}.${i + 2}`);
  const conns = await openMany(s.port, 48, addrs);
  const head = `GET / HTTP/1.1\r\nHost: ${s.host}\r\nX-Slow: ${'a'.repeat(400)}`;
  conns.forEach((c, i) => c.trickle(head, i % 2 ? 1000 : 100, false));
  await until(`${s.name}: every slow head closed by the node`, () => conns.every((c) => c.closed), HEAD_MS + SLACK_MS + 3000, 50,
    () => `${conns.filter((c) => !c.closed).length} open`);
  for (const c of conns) {
    const life = c.closedAt - c.openedAt;
    if (life < HEAD_MS * 0.8 || life > HEAD_MS + SLACK_MS) failures.push(`${s.name}: slow head closed after ${life} ms`);
    if (c.statuses().join() !== '408') failures.push(`${s.name}: slow head answered ${c.statuses().join() || 'nothing'}`);
  }
  return conns.length;
}

/** Stalled bodies: 408 each, by the body deadline. */
async function stalledBodies(s: Server, base: number, failures: string[]): Promise<number> {
  const token = s.name === 'fileserver' ? fileserver().issueToken({ uses: 12 }).token : '';
  const conns = await openMany(s.port, 12, [`127.0.${base}.2`, `127.0.${base}.3`]);
  conns.forEach((c, i) => c.write(s.name === 'fileserver'
    ? `POST /upload?name=stall-${i}.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(1000)}`
    : `POST /up HTTP/1.1\r\nHost: ${s.host}\r\nContent-Length: 100000\r\n\r\n${'z'.repeat(1000)}`));
  await until(`${s.name}: every stalled body closed by the node`, () => conns.every((c) => c.closed), BODY_MS + SLACK_MS + 3000, 50,
    () => `${conns.filter((c) => !c.closed).length} open`);
  for (const c of conns) {
    if (c.closedAt - c.openedAt > BODY_MS + SLACK_MS) failures.push(`${s.name}: stalled body closed after ${c.closedAt - c.openedAt} ms`);
    if (c.statuses().join() !== '408') failures.push(`${s.name}: stalled body answered ${c.statuses().join() || 'nothing'}`);
  }
  return conns.length;
}

const BAD_HEADS: Record<string, string[]> = {
  proxy: ['a\nb', 'a\rb', 'a\0b', 'x\nContent-Length: 5'].map((v) => `POST / HTTP/1.1\r\nHost: ok.test\r\nX-Evil: ${v}\r\nContent-Length: 0\r\n\r\n`),
  fileserver: [
    'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\nb\r\n\r\n',
    'GET /\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
  ],
};

/** Bad heads: 400 and closed, 3 of each. */
async function badHeads(s: Server, base: number, failures: string[]): Promise<number> {
  let n = 0;
  for (let round = 0; round < 3; round++) {
    const conns = await openMany(s.port, BAD_HEADS[s.name]!.length, [`127.0.${base}.2`]);
    conns.forEach((c, i) => c.write(BAD_HEADS[s.name]![i]!));
    for (const [i, c] of conns.entries()) {
      n++;
      await c.waitClosed(`${s.name}: bad head ${i} closed`).catch((e: Error) => failures.push(e.message));
      if (c.statuses().join() !== '400') failures.push(`${s.name}: bad head ${JSON.stringify(BAD_HEADS[s.name]![i])} answered ${c.statuses().join() || 'nothing'}`);
    }
  }
  return n;
}

/** Over the per-address cap: PER_ADDRESS held, 16 more refused 429 and closed, the held ones kept. */
async function overCap(s: Server, base: number, failures: string[]): Promise<number> {
  const from = `127.0.${base}.2`;
  const held = await openMany(s.port, PER_ADDRESS, [from]);
  for (const c of held) c.write(`GET / HTTP/1.1\r\nHost: ${s.host}\r\n\r\n`);
  for (const [i, c] of held.entries()) await c.waitAnswers(1, `${s.name}: held connection ${i} answered`).catch((e: Error) => failures.push(e.message));
  const extra = await openMany(s.port, 16, [from]);
  for (const c of extra) c.write(`GET / HTTP/1.1\r\nHost: ${s.host}\r\n\r\n`);
  for (const [i, c] of extra.entries()) {
    await c.waitClosed(`${s.name}: connection ${i} over the cap closed`).catch((e: Error) => failures.push(e.message));
    if (c.statuses().join() !== '429') failures.push(`${s.name}: connection over the cap answered ${c.statuses().join() || 'nothing'}`);
  }
  if (held.some((c) => c.closed)) failures.push(`${s.name}: a held connection was closed`);
  for (const c of held) c.destroy();
  return held.length + extra.length;
}

test('slow heads, stalled bodies, bad heads and connections over the cap, at once on proxy and fileserver', async () => {
  // Warm up both paths (the proxy's pooled backend connection, the fileserver's assets) first.
  assert.is(await operatorGet(proxyPort, 'ok.test'), 200);
  assert.is(await operatorGet(filePort, 'x'), 200);
  const fds = fdCount();
  const rss = new RssWatch();
  const servers: Server[] = [{ name: 'proxy', port: proxyPort, host: 'ok.test' }, { name: 'fileserver', port: filePort, host: 'x' }];
  const failures: string[] = [];
  const op = { ok: 0, failures: [] as string[] };
  let stop = false;
  const operator = (async () => {
    const end = Date.now() + 60_000;
    for (let i = 0; i < 2000 && !stop && Date.now() < end; i++) {
      for (const s of servers) {
        try {
          const status = await operatorGet(s.port, s.host);
          if (status === 200) op.ok++;
          else op.failures.push(`${s.name}: operator got ${status}`);
        } catch (err) {
          op.failures.push(`${s.name}: ${(err as Error).message}`);
        }
      }
      await sleep(50);
    }
  })();
  let trials = 0;
  try {
    const counts = await Promise.all(servers.flatMap((s, k) => [
      slowHeads(s, 10 + k, failures),
      stalledBodies(s, 20 + k, failures),
      badHeads(s, 30 + k, failures),
      overCap(s, 40 + k, failures),
    ]));
    trials = counts.reduce((a, b) => a + b, 0);
  } finally {
    stop = true;
    await operator;
    closeAll();
  }
  assert.equal(failures.slice(0, 10), [], `${failures.length} failures`);
  assert.equal(op.failures, [], 'every operator request was answered 200');
  assert.ok(op.ok >= 10, `the operator was served throughout (${op.ok} requests)`);
  assert.is(evil, 0, 'no bad head reached the backend');
  await until('the proxy to have aborted the stalled bodies at the backend', () => aborted >= 12, 3000);
  for (const id of ['proxy', 'fileserver']) assert.is(th.host.instances.get(id)!.state, 'active');

  // Nothing left behind: upload temp files, their descriptors, sockets.
  await until('the uploads\' temp dir to be empty', async () => (await uploadTemps()).length === 0, 3000);
  assert.is(await fdsUnder(join(storeDir, 'tmp') + '/'), 0, 'no descriptor open under the temp dir');
  // The proxy's pooled backend connections expire after upstreamIdleMs (4 s).
  await fdsSettle(fds, 2, 'the HTTP attacks');
  const grown = rss.stop();
  assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
  summary('HTTP slow heads, stalled bodies, bad heads, over the cap (proxy + fileserver)', {
    trials, failures: failures.length + op.failures.length, operatorRequests: op.ok, maxRssGrowthMb: grown,
  });
});

test.run();
