// `cheshire cluster up [N] | down | status`: a local multi-node cluster, one process per node on
// free loopback ports: seed, proxy, fileserver (when the module exists) and N live nodes (default
// 2). Each node gets its own folder under .cheshire/cluster/<name>/ (cheshire.json generated from
// its role, a state dir with a node key made beforehand so the seed can trust exactly these keys,
// and node.log). cluster.json there records the pids for `down`. Also usable as a library (the
// end-to-end test calls clusterUp/clusterDown with a temp dir).
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '../../fs/client/client.ts';
import { INSTALL_DIR, loadNodeConfig } from '../config/node-config.ts';
import { loadOrCreateIdentity } from '../identity.ts';
import { freePort } from '../../base/free-port.ts';
import { readStatus } from '../status-file.ts';

export interface ClusterNode {
  name: string;
  role: string;
  pid: number;
  dir: string;
  configFile: string;
  logFile: string;
  /** The node's 9P address (styx-root). */
  ninep: string;
  /** Its main listening address (seed meta port, proxy, fileserver or live app). */
  url: string;
  publicKey: string;
}

export interface ClusterInfo {
  dir: string;
  startedAt: string;
  seed: string;
  proxy: string;
  nodes: ClusterNode[];
}

export interface ClusterOptions {
  /** The project folder (its cheshire.json gives moduleDirs; its config/roles are used). */
  base: string;
  /** Where the nodes' folders and cluster.json go (default <base>/.cheshire/cluster). */
  dir?: string;
  /** Live nodes (default 2). */
  live?: number;
  /** Hot reload on file changes in each node (default true). */
  watch?: boolean;
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

export const clusterDir = (base: string) => join(base, '.cheshire', 'cluster');
const infoFile = (dir: string) => join(dir, 'cluster.json');

function alive(pid: number, configFile?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (configFile && existsSync(`/proc/${pid}/cmdline`)) {
    // A recycled pid is someone else's process: only ours has our config on its command line.
    try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(configFile); } catch { return false; }
  }
  return true;
}

export async function readCluster(dir: string): Promise<ClusterInfo | null> {
  try {
    return JSON.parse(await readFile(infoFile(dir), 'utf8')) as ClusterInfo;
  } catch {
    return null;
  }
}

async function moduleDirs(base: string): Promise<string[]> {
  const file = join(base, 'cheshire.json');
  if (!existsSync(file)) return [join(INSTALL_DIR, 'modules')];
  const config = await loadNodeConfig(file);
  return config.moduleDirs.map((d) => resolve(base, d));
}

interface Plan {
  name: string;
  role: string;
  ninepPort: number;
  port: number;
  modules: Record<string, Record<string, unknown>>;
  url: string;
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function read9p(addr: string, path: string): Promise<string> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const c = await Client.connect({ host, port, version: '9P2000.L', timeoutMs: 2000 });
  try {
    await c.attach({ uname: 'cluster' });
    return (await c.readFile(path)).toString('utf8');
  } finally {
    await c.close().catch(() => undefined);
  }
}

/** Polls until `check` is truthy or `ms` pass (then throws naming `what`). */
async function until(what: string, ms: number, check: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(100);
  }
}

export async function clusterUp(o: ClusterOptions): Promise<ClusterInfo> {
  const base = resolve(o.base);
  const dir = resolve(o.dir ?? clusterDir(base));
  const log = o.log ?? (() => {});
  const liveCount = o.live ?? 2;
  const timeout = o.startTimeoutMs ?? 60_000;
  const running = await readCluster(dir);
  if (running && running.nodes.some((n) => alive(n.pid, n.configFile))) {
    throw new Error(`a cluster is already running from ${dir} (pids ${running.nodes.map((n) => n.pid).join(' ')}); stop it with: cheshire cluster down`);
  }
  const dirs = await moduleDirs(base);
  const hasFileserver = dirs.some((d) => existsSync(join(d, 'fileserver', 'package.json')));
  const seedPort = await freePort();
  // Nodes reach the seed over wss, pinned to the seed node's key (known below, before any start).
  const seedUrl = `wss://127.0.0.1:${seedPort}`;
  const plans: Plan[] = [];
  const plan = async (name: string, role: string, make: (port: number) => Pick<Plan, 'modules' | 'url'>, port?: number) => {
    const p = port ?? await freePort();
    plans.push({ name, role, ninepPort: await freePort(), port: p, ...make(p) });
  };
  await plan('seed', 'seed', (p) => ({ url: `wss://127.0.0.1:${p}`, modules: { seed: { port: p } } }), seedPort);
  await plan('proxy', 'proxy', (p) => ({ url: `http://127.0.0.1:${p}`, modules: { proxy: { port: p }, 'seed-client': { seed: seedUrl } } }));
  if (hasFileserver) {
    await plan('fileserver', 'fileserver', (p) => ({
      url: `http://127.0.0.1:${p}`,
      modules: { fileserver: { port: p }, 'seed-client': { seed: seedUrl, http: `http://127.0.0.1:${p}`, routes: [{ prefix: '/static' }, { prefix: '/upload' }] } },
    }));
  } else log('(no fileserver module found: the cluster runs without a fileserver node)');
  for (let i = 1; i <= liveCount; i++) {
    await plan(`live-${i}`, 'live', (p) => ({
      url: `http://127.0.0.1:${p}`,
      modules: { 'live-app': { port: p }, 'seed-client': { seed: seedUrl, http: `http://127.0.0.1:${p}`, routes: [{ prefix: '/' }] } },
    }));
  }

  // Node keys first, so the seed's trust list names exactly this cluster's nodes.
  const keys = new Map<string, string>();
  for (const p of plans) {
    const stateDir = join(dir, p.name, 'state');
    await mkdir(stateDir, { recursive: true });
    keys.set(p.name, (await loadOrCreateIdentity(join(stateDir, 'node.key'))).publicKey);
  }
  const rolesDir = join(base, 'config', 'roles');
  const nodes: ClusterNode[] = [];
  const info: ClusterInfo = { dir, startedAt: new Date().toISOString(), seed: seedUrl, proxy: plans.find((p) => p.name === 'proxy')!.url, nodes };
  try {
    for (const p of plans) {
      const nodeDir = join(dir, p.name);
      if (existsSync(rolesDir) && resolve(base) !== INSTALL_DIR && !existsSync(join(nodeDir, 'config'))) {
        await symlink(join(base, 'config'), join(nodeDir, 'config')); // the project's own roles
      }
      const modules: Record<string, Record<string, unknown>> = { 'styx-root': { listen: `127.0.0.1:${p.ninepPort}` }, ...p.modules };
      if (p.role === 'seed') modules.seed = { ...modules.seed, trust: [...keys.values()] };
      if (modules['seed-client']) modules['seed-client'] = { ...modules['seed-client'], seedKey: keys.get('seed')! };
      const configFile = join(nodeDir, 'cheshire.json');
      await writeFile(configFile, JSON.stringify({
        node: p.name, role: p.role, moduleDirs: dirs, stateDir: 'state', watch: { enabled: o.watch ?? true }, modules,
      }, null, 2) + '\n');
      await rm(join(nodeDir, 'state', 'status.json'), { force: true });
      const logFile = join(nodeDir, 'node.log');
      const fd = openSync(logFile, 'a');
      const child = spawn(process.execPath, ['--import', 'tsx', join(INSTALL_DIR, 'core/cli/main.ts'), 'start', '--config', configFile], {
        cwd: INSTALL_DIR, detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, FORCE_COLOR: '0' },
      });
      closeSync(fd);
      child.unref();
      nodes.push({ name: p.name, role: p.role, pid: child.pid!, dir: nodeDir, configFile, logFile, ninep: `127.0.0.1:${p.ninepPort}`, url: p.url, publicKey: keys.get(p.name)! });
    }
    await mkdir(dir, { recursive: true });
    await writeFile(infoFile(dir), JSON.stringify(info, null, 2) + '\n');

    for (const n of nodes) {
      await until(`${n.name} to start (log: ${n.logFile})`, timeout, async () => {
        if (!alive(n.pid)) throw new Error(`${n.name} exited:\n${await tail(n.logFile)}`);
        const st = await readStatus(join(n.dir, 'state', 'status.json'));
        if (st.failsafe) throw new Error(`${n.name} is in failsafe mode: ${st.failsafe.message}`);
        const failed = st.instances.find((i) => i.state === 'failed');
        if (failed) throw new Error(`${n.name}: ${failed.id} failed: ${failed.lastError?.message}`);
        return st.instances.length > 0 && st.instances.every((i) => i.state === 'active');
      }).catch(async (err: Error) => { throw new Error(`${err.message}\n--- ${n.logFile} ---\n${await tail(n.logFile)}`); });
    }
    const seed = nodes[0]!;
    const others = nodes.filter((n) => n !== seed);
    await until('every node to join the seed', timeout, async () => {
      const listed = await read9p(seed.ninep, '/seed/nodes');
      return others.every((n) => new RegExp(`^${n.name}\\s`, 'm').test(listed));
    });
    const proxy = nodes.find((n) => n.name === 'proxy')!;
    await until('the proxy to route to every live node', timeout, async () => {
      const routes = await read9p(proxy.ninep, '/proxy/routes');
      return nodes.filter((n) => n.role === 'live').every((n) => routes.includes(`${n.name}=`));
    });
    log(formatCluster(info));
    return info;
  } catch (err) {
    await clusterDown(dir).catch(() => undefined);
    throw err;
  }
}

export function formatCluster(info: ClusterInfo): string {
  const rows = info.nodes.map((n) => `  ${n.name.padEnd(11)} ${n.role.padEnd(10)} pid ${String(n.pid).padEnd(7)} ${n.url.padEnd(24)} 9P ${n.ninep}`);
  return [
    `cluster in ${info.dir}:`,
    ...rows,
    '',
    `  the app through the proxy: ${info.proxy}/   (API: ${info.proxy}/api/info, WebSocket: ${info.proxy.replace(/^http/, 'ws')}/live)`,
    `  the directory: cheshire 9p cat ${info.nodes[0]?.ninep ?? '?'} /seed/nodes   (also /seed/routes, /seed/events)`,
    `  cluster-wide reload: cheshire 9p write ${info.nodes[0]?.ninep ?? '?'} /seed/ctl 'reload live-app on live'`,
    `  logs: ${info.dir}/<node>/node.log; stop: cheshire cluster down`,
  ].join('\n');
}

/** Stops the cluster's nodes (SIGTERM to each process group, SIGKILL after graceMs). */
export async function clusterDown(dir: string, graceMs = 8_000): Promise<string[]> {
  const info = await readCluster(dir);
  if (!info) return [];
  const stopped: string[] = [];
  const group = (pid: number, sig: NodeJS.Signals) => {
    try { process.kill(-pid, sig); } catch { try { process.kill(pid, sig); } catch { /* gone */ } }
  };
  const nodes = [...info.nodes].reverse();
  for (const n of nodes) if (alive(n.pid, n.configFile)) { group(n.pid, 'SIGTERM'); stopped.push(n.name); }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && nodes.some((n) => alive(n.pid, n.configFile))) await sleep(50);
  const stubborn = nodes.filter((n) => alive(n.pid, n.configFile));
  for (const n of stubborn) group(n.pid, 'SIGKILL');
  // SIGKILL is not instant either (the kernel tears the process down): wait until they are gone.
  const killDeadline = Date.now() + 2_000;
  while (Date.now() < killDeadline && stubborn.some((n) => alive(n.pid, n.configFile))) await sleep(20);
  await rm(infoFile(dir), { force: true });
  return stopped;
}

/** The CLI: `cluster up [N]`, `cluster down`, `cluster status`. */
export async function clusterCommand(args: string[], configFile: string): Promise<void> {
  const base = resolve(configFile, '..');
  const dir = clusterDir(base);
  const [sub, arg] = args;
  if (sub === 'up') {
    const live = arg === undefined ? 2 : Number(arg);
    if (!Number.isInteger(live) || live < 1 || live > 32) throw new Error(`cluster up N: N must be a number of live nodes from 1 to 32, not ${JSON.stringify(arg)}`);
    console.log(`starting seed, proxy, fileserver and ${live} live node(s) in ${dir} ...`);
    await clusterUp({ base, dir, live, log: (l) => console.log(l) });
  } else if (sub === 'down') {
    const stopped = await clusterDown(dir);
    console.log(stopped.length ? `stopped ${stopped.join(', ')}` : `no cluster running from ${dir}`);
  } else if (sub === 'status') {
    const info = await readCluster(dir);
    if (!info) throw new Error(`no cluster running from ${dir} (start one with: cheshire cluster up)`);
    console.log(formatCluster(info).split('\n').map((l) => {
      const n = info.nodes.find((x) => l.startsWith(`  ${x.name} `));
      return n ? `${l}  ${alive(n.pid, n.configFile) ? 'running' : 'GONE'}` : l;
    }).join('\n'));
    try {
      console.log(`\n/seed/nodes:\n${await read9p(info.nodes[0]!.ninep, '/seed/nodes')}`);
    } catch (err) {
      console.log(`\n(the seed's 9P tree is unreachable: ${(err as Error).message})`);
    }
  } else {
    throw new Error('usage: cheshire cluster up [N] | down | status');
  }
}
