// End to end: `cheshire cluster up` (as a library, into a temp dir) starts seed, proxy,
// fileserver and two live nodes as separate processes on free loopback ports. A request through
// the proxy reaches a live node (and WebSocket push passes through); a reload of live-app pushed
// from the seed to role `live` drops no proxied request; killing one live node keeps requests
// succeeding through the other, and the seed drops it from the directory. `cluster down` stops
// everything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { clusterDown, clusterUp, readCluster, type ClusterInfo } from '../../core/cli/cluster.ts';
import { Client } from '../../fs/client/client.ts';
import { REPO, waitFor } from '../helpers/project.ts';

let dir: string;
let cluster: ClusterInfo;
let seed9p: Client;
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chs-cluster-'));
  cluster = await clusterUp({ base: REPO, dir, live: 2, watch: false, startTimeoutMs: 40_000 });
  const [host, port] = cluster.nodes[0]!.ninep.split(':');
  seed9p = await Client.connect({ host, port: Number(port), version: '9P2000.L', timeoutMs: 3000 });
  await seed9p.attach({ uname: 'test' });
});

test.after(async () => {
  agent.destroy();
  await seed9p?.close().catch(() => undefined);
  if (dir) {
    await clusterDown(dir, 5_000);
    await rm(dir, { recursive: true, force: true });
  }
});

function get(path: string): Promise<{ status: number; body: string; by: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${cluster.proxy}${path}`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, by: String(res.headers['x-served-by']) }));
      res.on('error', reject);
    });
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${path}: no answer in 5 s`)));
    req.on('error', reject);
  });
}

/** Requests through the proxy from `workers` loops until stop(); every outcome is recorded. */
function load(workers = 6) {
  let running = true;
  const ok: string[] = [];
  const failures: string[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await get('/api/info');
        if (r.status === 200) ok.push(r.by);
        else failures.push(`${r.status} ${r.body.trim()}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  });
  return { ok, failures, stop: async () => { running = false; await Promise.all(loops); } };
}

const seedFile = async (path: string) => (await seed9p.readFile(path)).toString('utf8');

test('cluster up: every node runs and is in the seed\'s directory; cluster.json records the pids', async () => {
  const info = await readCluster(dir);
  assert.equal(info?.nodes.map((n) => n.name), ['seed', 'proxy', 'fileserver', 'live-1', 'live-2']);
  const nodes = await seedFile('/seed/nodes');
  for (const n of ['proxy', 'fileserver', 'live-1', 'live-2']) assert.match(nodes, new RegExp(`^${n}\\s`, 'm'));
  assert.match(await seedFile('/seed/routes'), /^\* \/ -> live-1=http:\/\/127\.0\.0\.1:\d+ live-2=http:\/\/127\.0\.0\.1:\d+$/m);
});

test('a request through the proxy reaches a live node; both share the load; WebSocket push passes', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 10; i++) {
    const r = await get('/api/info');
    assert.is(r.status, 200);
    assert.is(JSON.parse(r.body).node, r.by);
    seen.add(r.by);
  }
  assert.equal([...seen].sort(), ['live-1', 'live-2']);
  const ws = new WebSocket(`${cluster.proxy.replace(/^http/, 'ws')}/live`);
  const got: Array<{ type: string; node: string }> = [];
  ws.on('message', (m) => got.push(JSON.parse(String(m))));
  await waitFor('hello over the proxied WebSocket', () => got.some((m) => m.type === 'hello'), 5000);
  ws.send('hi');
  await waitFor('echo', () => got.some((m) => m.type === 'echo'), 5000);
  ws.terminate();
});

test('a reload of live-app pushed from the seed to role live drops no proxied request', async () => {
  const l = load();
  await waitFor('traffic', () => l.ok.length > 30, 5000);
  const fid = await seed9p.walkPath('/seed/ctl');
  await seed9p.open(fid, 'rw');
  await seed9p.write(fid, 0, Buffer.from('reload live-app on live\n'));
  const answer = Buffer.from(await seed9p.read(fid, 0, 4096)).toString('utf8');
  await seed9p.clunk(fid);
  const before = l.ok.length;
  await waitFor('traffic after the reload', () => l.ok.length > before + 30, 5000);
  await l.stop();
  assert.match(answer, /reload live-app on live: (live-\d ok, live-\d ok)/);
  assert.equal(l.failures, [], 'no request failed during the reload');
  assert.match(await seedFile('/seed/events'), /reload live-app on live: live-\d ok, live-\d ok/);
});

test('killing one live node keeps requests succeeding through the other', async () => {
  const victim = cluster.nodes.find((n) => n.name === 'live-1')!;
  const l = load();
  await waitFor('traffic', () => l.ok.length > 30, 5000);
  process.kill(-victim.pid, 'SIGKILL');
  const at = l.ok.length;
  await waitFor('live-1 out of the directory', async () => !/^live-1\s/m.test(await seedFile('/seed/nodes')), 5000);
  await waitFor('traffic after the kill', () => l.ok.length > at + 50, 5000);
  await l.stop();
  assert.equal(l.failures, [], 'no request failed');
  assert.ok(l.ok.slice(-20).every((by) => by === 'live-2'), 'the survivor serves');
});

/**
 * Whether pid is a running process. The nodes are this process's children, so one that has
 * exited stays a zombie (kill(pid, 0) still succeeds) until libuv reaps it on SIGCHLD, which
 * may come a moment after clusterDown returns: a zombie counts as stopped.
 */
function isRunning(pid: number): boolean {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

test('cluster down stops every process', async () => {
  const info = (await readCluster(dir))!;
  await clusterDown(dir, 5_000);
  for (const n of info.nodes) assert.not.ok(isRunning(n.pid), `${n.name} (pid ${n.pid}) still running`);
  assert.is(await readCluster(dir), null);
});

test.run();
