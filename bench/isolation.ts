// Isolation modes side by side (issue 11): the same modules run in the host's thread (`none`), in a
// worker thread per incarnation (`worker`) and in a child process per incarnation (`process`).
//
//   npx tsx bench/isolation.ts [edits=15] [calls=20000] [instances=10]     # or: npm run bench:isolation
//
// 1. Reload latency, of two modules: the repo's hello (serveHttp: in an isolate the host keeps
//    the listener; put in the mode by the node's "isolation" override, as a role would) and a
//    plain node:http module (its own listener on a fixed port, the same source in every mode).
//    Save (atomically: temp file + rename) with a new GREETING literal, poll GET / until the new
//    text answers (as bench/reload.ts does), and the same for an equivalent server under
//    `tsx watch`. Goals: isolated median <= 2x in-process, and >= 10x faster than tsx watch. The
//    floor of an isolated start outside Cheshire (a bare Worker, a bare forked node child) is
//    printed beside them.
// 2. Dependency-handle calls: an in-process module calls `ctx.deps.calc.add(i, 1)` (a dynamic
//    handle) of a provider running in the mode, `calls` times, 1 and 32 calls in flight; calls/s,
//    p50 and p99 latency, measured inside the node.
// 3. Memory per idle instance: a node with 1 instance of the HTTP module and one with 1 + N; the
//    RSS of the node and every process under it, and the host thread's heap after GC, per added
//    instance. For comparison, one plain `node` process per module as PM2 runs it: N processes each
//    running the equivalent server, their RSS per process.
//
// Every node runs as a child process (`node --expose-gc --import tsx core/cli/main.ts start`) in
// its own process group and is stopped in a finally; the temp dir is removed at the end, on an
// error and on Ctrl-C. A mode the host refuses ("not available yet") or that does not start is
// printed as n/a.
import { fork } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { readFileSync, readdirSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { readDescriptor } from '../core/descriptor.ts';
import {
  REPO, freePort, get, intArg, makeProjectCopy, pollUntil, progress, progressDone, sleep, spawnChild, stats, statsLine, uniqueGreeting,
  underTsxWatch, waitReady, waitServing, withGreeting, type BenchProject, type Child, type Stats,
} from './lib.ts';

const EDITS = intArg(0, 15, 1, 200);
const CALLS = intArg(1, 20_000, 100, 1_000_000);
const INSTANCES = intArg(2, 10, 1, 100);
const WARMUP_EDITS = 2;
const PAUSE_MS = 250;
const EDIT_TIMEOUT_MS = 10_000;
const WATCH_EDIT_TIMEOUT_MS = 20_000;
const CONCURRENCY = [1, 32];
const MODES = ['none', 'worker', 'process'] as const;
type Mode = (typeof MODES)[number];

// ---- the modules ------------------------------------------------------------------------------

const hiSource = (greeting: string) => `// hello-like: GET / answers the greeting (plain node:http, the same in every mode).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const GREETING = '${greeting}';

export async function start(ctx: any) {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(\`\${GREETING}\\n\`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ctx.config.port ?? 0, '127.0.0.1', () => resolve());
  });
  ctx.onStop(() => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }));
  return { port: () => (server.address() as AddressInfo).port };
}
`;

const CALC_SOURCE = `export function start() { return { add: (a: number, b: number) => a + b }; }\n`;

// In-process: its HTTP port runs the dependency calls inside the node, reads the host thread's
// memory after GC, and lists the instances' states.
const PROBE_SOURCE = `import http from 'node:http';

async function calls(calc: any, n: number, conc: number) {
  const lat = new Float64Array(n);
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const s = performance.now();
      const v = await calc.add(i, 1);
      lat[i] = performance.now() - s;
      if (v !== i + 1) throw new Error('calc.add(' + i + ', 1) answered ' + v);
    }
  }));
  const ms = performance.now() - t0;
  lat.sort();
  const q = (p: number) => lat[Math.min(n - 1, Math.floor(p * n))]!;
  return { n, conc, ms, perSec: (n / ms) * 1000, p50: q(0.5), p99: q(0.99) };
}

export async function start(ctx: any) {
  const calc = ctx.deps.calc;
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    try {
      let body: unknown;
      if (url.pathname === '/calls') body = await calls(calc, Number(url.searchParams.get('n')), Number(url.searchParams.get('conc')));
      else if (url.pathname === '/mem') {
        for (let i = 0; i < 4; i++) { (globalThis as any).gc?.(); await new Promise((r) => setImmediate(r)); }
        body = process.memoryUsage();
      } else if (url.pathname === '/status') body = (await ctx.host.status()).instances.map((i: any) => ({ id: i.id, state: i.state, err: i.lastError?.message }));
      else { res.writeHead(404); res.end(); return; }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    } catch (err) {
      res.writeHead(500);
      res.end(String((err as Error).stack ?? err));
    }
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(ctx.config.port, '127.0.0.1', () => resolve()); });
  ctx.onStop(() => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }));
  return {};
}
`;

const PLAIN_SERVER = `// one process per module, as PM2 runs it: the equivalent server, alone in its node process
import http from 'node:http';
const server = http.createServer((_req, res) => { res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }); res.end('Hello from a process\\n'); });
server.listen(0, '127.0.0.1', () => console.log('READY ' + server.address().port));
`;

const tsxWatchSource = (greeting: string, port: number) => `// standalone equivalent of the hello-like module, for tsx watch
import http from 'node:http';

const GREETING = '${greeting}';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(\`\${GREETING}\\n\`);
});
server.listen(${port}, '127.0.0.1');
`;

async function writeModule(dir: string, name: string, cheshire: object, source: string): Promise<void> {
  await mkdir(join(dir, name), { recursive: true });
  await writeFile(join(dir, name, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', cheshire }, null, 2));
  await writeFile(join(dir, name, 'index.ts'), source);
}

const iso = (mode: Mode) => (mode === 'none' ? {} : { isolation: mode });

async function writeModules(modDir: string): Promise<void> {
  for (const mode of MODES) {
    await writeModule(modDir, `hi-${mode}`, { ...iso(mode), config: { defaults: { port: 0 } } }, hiSource('Hello from Cheshire'));
    await writeModule(modDir, `calc-${mode}`, { ...iso(mode), provides: ['calc'] }, CALC_SOURCE);
  }
  await writeModule(modDir, 'probe', { requires: [{ service: 'calc', policy: 'dynamic', cardinality: '0..1', as: 'calc' }] }, PROBE_SOURCE);
}

/** Writes cheshire-<tag>.json and its role; returns the config file. */
async function nodeConfig(p: BenchProject, tag: string, role: string[], modules: Record<string, object>, isolation: Record<string, string> = {}): Promise<string> {
  await writeFile(join(p.dir, 'config/roles', `iso-${tag}.json`), JSON.stringify({ modules: role, required: [] }));
  const file = join(p.dir, `cheshire-${tag}.json`);
  await writeFile(file, JSON.stringify({
    node: `bench-${tag}`,
    role: `iso-${tag}`,
    moduleDirs: ['modules', 'bench-modules'],
    stateDir: `.cheshire-${tag}`,
    watch: { enabled: true, debounceMs: 2 },
    typecheck: { enabled: false },
    modules,
    isolation,
  }, null, 2));
  return file;
}

function startIsoNode(configFile: string): Child {
  return spawnChild(process.execPath, ['--expose-gc', '--import', 'tsx', join(REPO, 'core/cli/main.ts'), 'start', '--config', configFile], {
    cwd: REPO,
    env: { CHESHIRE_LOG_LEVEL: 'info' },
  });
}

// ---- measuring --------------------------------------------------------------------------------

/** Whether the host takes `"isolation": mode` (null), or why not. */
function refused(mode: Mode): string | null {
  if (mode === 'none') return null;
  const dir = mkdtempSync(join(tmpdir(), 'chs-bench-iso-mode-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'm', version: '1.0.0', cheshire: { isolation: mode } }));
    readDescriptor(dir);
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** RSS in bytes of `pid` and every process under it (Linux /proc). */
function treeRss(pid: number): number {
  let kb = 0;
  const visit = (p: number) => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      kb += m ? Number(m[1]) : 0;
      for (const task of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) visit(Number(c));
      }
    } catch { /* gone meanwhile */ }
  };
  visit(pid);
  return kb * 1024;
}

async function getJson<T>(url: string, agent: http.Agent, timeoutMs = 5_000): Promise<T> {
  const r = await get(url, agent, timeoutMs);
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body.slice(0, 500)}`);
  return JSON.parse(r.body) as T;
}

/** Waits until the probe lists `count` instances, all active; fails on a failed one or after the deadline. */
async function waitActive(child: Child, probeUrl: string, count: number, agent: http.Agent, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`the node exited before its instances were active:\n${child.output().slice(-3_000)}`);
    try {
      const list = await getJson<Array<{ id: string; state: string; err?: string }>>(`${probeUrl}status`, agent);
      const bad = list.find((i) => i.state === 'failed');
      if (bad) throw new Error(`${bad.id} failed: ${bad.err}`);
      if (list.length === count && list.every((i) => i.state === 'active')) return;
      last = list.map((i) => `${i.id}:${i.state}`).join(' ');
    } catch (err) {
      if (/ failed: /.test((err as Error).message)) throw err;
      last = (err as Error).message;
    }
    if (Date.now() > end) throw new Error(`instances not all active after ${timeoutMs} ms (${last})`);
    await sleep(100);
  }
}

/**
 * Saves as an editor's atomic save does: the whole text to a temp file (outside any watched
 * folder), renamed over `file`. An in-place write can be seen half-written (an empty file: a
 * failed reload and a restore, timed as part of the edit). Before 8f7b233 such a failed reload
 * also leaked an isolated serveHttp module's listener (EADDRINUSE until given up on).
 */
let saves = 0;
async function saveAtomic(p: BenchProject, file: string, text: string): Promise<void> {
  const tmp = join(p.dir, `.save-${process.pid}-${++saves}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

interface Reload { times: number[]; hostMs: number[] }
/** The two reloaded modules: the repo's hello (serveHttp) and the plain node:http one. */
const SUBJECTS = ['hello', 'plain'] as const;
type Subject = (typeof SUBJECTS)[number];

async function measureEdits(label: string, url: string, edit: (g: string) => Promise<void>, agent: http.Agent, timeoutMs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < WARMUP_EDITS + EDITS; i++) {
    const greeting = uniqueGreeting(label, i);
    const t0 = performance.now();
    await edit(greeting);
    const ms = await pollUntil(url, `${greeting}\n`, agent, t0, timeoutMs);
    if (i >= WARMUP_EDITS) times.push(ms);
    progress(`${label}: edit ${i + 1}/${WARMUP_EDITS + EDITS} ${ms.toFixed(1)} ms`);
    await sleep(PAUSE_MS);
  }
  progressDone();
  return times;
}

/** Saves until one is served: a save made before the watcher is ready is not picked up (bench/README.md). */
async function prime(url: string, save: (g: string) => Promise<void>, agent: http.Agent): Promise<void> {
  for (let i = 0; ; i++) {
    const g = uniqueGreeting('prime', i);
    await save(g);
    try {
      // Long enough for a busy box's isolated reload (a save during one starts another).
      await pollUntil(url, `${g}\n`, agent, performance.now(), 3_000);
      return;
    } catch (err) {
      if (i >= 10) throw err;
    }
  }
}

interface CallStats { n: number; conc: number; ms: number; perSec: number; p50: number; p99: number }

/**
 * One node per mode: the reload latency of the repo's hello (serveHttp, its greeter in-process;
 * put in the mode by the node's "isolation" override, as a role would) and of the plain module,
 * then the dependency calls.
 */
async function reloadAndCalls(p: BenchProject, mode: Mode): Promise<{ reload: Record<Subject, Reload>; calls: CallStats[] }> {
  const helloPort = await freePort();
  const plainPort = await freePort();
  const probePort = await freePort();
  const file = await nodeConfig(p, `rc-${mode}`, ['hello', 'greeter', `hi-${mode}`, `calc-${mode}`, 'probe'], {
    hello: { host: '127.0.0.1', port: helloPort },
    [`hi-${mode}`]: { port: plainPort },
    probe: { port: probePort },
  }, mode === 'none' ? {} : { hello: mode });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const probeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let node: Child | null = null;
  try {
    // An earlier mode's run left hello with its last greeting.
    await writeFile(p.helloIndex, p.helloSource);
    node = startIsoNode(file);
    const probeUrl = `http://127.0.0.1:${probePort}/`;
    const subjects: Record<Subject, { id: string; url: string; save: (g: string) => Promise<void> }> = {
      hello: { id: 'hello', url: `http://127.0.0.1:${helloPort}/`, save: (g) => saveAtomic(p, p.helloIndex, withGreeting(p.helloSource, g)) },
      plain: { id: `hi-${mode}`, url: `http://127.0.0.1:${plainPort}/`, save: (g) => saveAtomic(p, join(p.dir, 'bench-modules', `hi-${mode}`, 'index.ts'), hiSource(g)) },
    };
    for (const s of SUBJECTS) await waitServing(node, subjects[s].url, 'Hello from Cheshire\n', agent, 30_000);
    await waitActive(node, probeUrl, 5, probeAgent);
    const reload = {} as Record<Subject, Reload>;
    for (const s of SUBJECTS) {
      const { id, url, save } = subjects[s];
      await prime(url, save, agent);
      const before = node.output().length;
      const times = await measureEdits(`${mode} ${s}`, url, save, agent, EDIT_TIMEOUT_MS);
      await sleep(50);
      const re = new RegExp(`${id} reloaded v\\S+ #\\w+ in (\\d+) ms`, 'g');
      const hostMs = [...node.output().slice(Math.max(0, before - 200)).matchAll(re)].map((m) => Number(m[1])).slice(-EDITS);
      reload[s] = { times, hostMs };
    }
    const calls: CallStats[] = [];
    await getJson(`${probeUrl}calls?n=${Math.min(2_000, CALLS)}&conc=1`, probeAgent, 60_000); // warm-up
    for (const conc of CONCURRENCY) calls.push(await getJson<CallStats>(`${probeUrl}calls?n=${CALLS}&conc=${conc}`, probeAgent, 120_000));
    return { reload, calls };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nthe node's output (last lines):\n${node?.output().slice(-6_000) ?? ''}`);
  } finally {
    agent.destroy();
    probeAgent.destroy();
    await node?.stop();
  }
}

interface Mem { rss: number; heap: number; instances: number }

/** RSS of the node's process tree and its host-thread heap, with `count` idle HTTP instances. */
async function nodeMemory(p: BenchProject, mode: Mode, count: number): Promise<Mem> {
  const probePort = await freePort();
  const ids = Array.from({ length: count }, (_, i) => `hi-${mode}#m${i}`);
  const file = await nodeConfig(p, `mem-${mode}-${count}`, ['probe', ...ids], { probe: { port: probePort } });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let node: Child | null = null;
  try {
    node = startIsoNode(file);
    const probeUrl = `http://127.0.0.1:${probePort}/`;
    await waitActive(node, probeUrl, count + 1, agent);
    await sleep(1_500);
    const mem = await getJson<NodeJS.MemoryUsage>(`${probeUrl}mem`, agent, 30_000);
    await sleep(300);
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) {
      samples.push(treeRss(node.proc.pid!));
      await sleep(200);
    }
    return { rss: stats(samples).median, heap: mem.heapUsed, instances: count };
  } finally {
    agent.destroy();
    await node?.stop();
  }
}

/** N plain node processes, each running the equivalent server: their RSS per process. */
async function plainProcesses(p: BenchProject, n: number): Promise<number> {
  const file = join(p.dir, 'plain-server.mjs');
  await writeFile(file, PLAIN_SERVER);
  const procs: Child[] = [];
  try {
    for (let i = 0; i < n; i++) procs.push(spawnChild(process.execPath, [file], { cwd: p.dir }));
    const agent = new http.Agent({ keepAlive: false });
    try {
      for (const c of procs) {
        const port = await waitReady(c, 'plain server');
        const r = await get(`http://127.0.0.1:${port}/`, agent);
        if (r.body !== 'Hello from a process\n') throw new Error(`plain server answered ${JSON.stringify(r.body)}`);
      }
    } finally {
      agent.destroy();
    }
    await sleep(1_500);
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) {
      samples.push(procs.reduce((sum, c) => sum + treeRss(c.proc.pid!), 0));
      await sleep(200);
    }
    return stats(samples).median / n;
  } finally {
    await Promise.all(procs.map((c) => c.stop()));
  }
}

function tsxWatch(p: BenchProject): Promise<number[]> {
  return underTsxWatch(p.dir, tsxWatchSource, (w) =>
    measureEdits('tsx watch', w.url, (g) => saveAtomic(p, w.file, tsxWatchSource(g, w.port)), w.agent, WATCH_EDIT_TIMEOUT_MS));
}

/**
 * The floor of an isolated incarnation's start, outside Cheshire: a bare Worker (eval) to its first
 * message, and a bare `node` child (fork, IPC) to its first message; median of `n` each.
 */
async function bareStarts(p: BenchProject, n: number): Promise<{ worker: number; process: number }> {
  const file = join(p.dir, 'bare-child.mjs');
  await writeFile(file, 'process.send(1);\nsetInterval(() => {}, 1000);\n');
  const worker: number[] = [];
  const proc: number[] = [];
  for (let i = 0; i < n; i++) {
    let t0 = performance.now();
    const w = new Worker('require("node:worker_threads").parentPort.postMessage(1)', { eval: true });
    try {
      await new Promise<void>((resolve, reject) => { w.once('message', () => resolve()); w.once('error', reject); });
      worker.push(performance.now() - t0);
    } finally {
      await w.terminate();
    }
    t0 = performance.now();
    const c = fork(file, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], execArgv: [] });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('a bare child sent nothing within 10 s')), 10_000);
        c.once('message', () => { clearTimeout(timer); resolve(); });
        c.once('error', (err) => { clearTimeout(timer); reject(err); });
      });
      proc.push(performance.now() - t0);
    } finally {
      if (c.exitCode === null && c.signalCode === null) {
        const gone = new Promise((r) => c.once('exit', r));
        c.kill('SIGKILL');
        await gone;
      }
    }
  }
  return { worker: stats(worker).median, process: stats(proc).median };
}

// ---- the run ----------------------------------------------------------------------------------

const MB = 1024 * 1024;
const mb = (b: number) => `${(b / MB).toFixed(1)} MB`;
const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
const x = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');
const NA = 'n/a (not available)';
/** Per-instance RSS below this is within the noise of comparing two nodes. */
const NOISE = 0.25 * MB;

type Outcome<T> = { ok: true; value: T } | { ok: false; why: string };
async function attempt<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    console.error(`(failed: ${(err as Error).message.slice(0, 3_000)})`);
    return { ok: false, why: (err as Error).message.split('\n')[0]!.slice(0, 300) };
  }
}

const project = await makeProjectCopy({ prefix: 'chs-bench-isolation-' });
let exitCode = 0;
try {
  const modDir = join(project.dir, 'bench-modules');
  await writeModules(modDir);
  console.log(`isolation modes: ${EDITS} timed edits (+${WARMUP_EDITS} warm-up) per server, ${CALLS} dependency calls per concurrency (${CONCURRENCY.join(', ')}), ${INSTANCES} idle instances; Node ${process.version}; temp ${project.dir}`);
  const refusal = new Map<Mode, string | null>(MODES.map((m) => [m, refused(m)]));
  for (const [m, why] of refusal) if (why) console.log(`mode ${m}: ${NA}: ${why}`);

  const rc = new Map<Mode, Outcome<{ reload: Record<Subject, Reload>; calls: CallStats[] }>>();
  const mem = new Map<Mode, Outcome<{ base: Mem; full: Mem }>>();
  for (const mode of MODES) {
    const why = refusal.get(mode);
    if (why) {
      rc.set(mode, { ok: false, why: NA });
      mem.set(mode, { ok: false, why: NA });
      continue;
    }
    console.log(`-- ${mode}: reload and calls`);
    rc.set(mode, await attempt(() => reloadAndCalls(project, mode)));
    console.log(`-- ${mode}: memory (1 and ${1 + INSTANCES} instances)`);
    mem.set(mode, await attempt(async () => ({ base: await nodeMemory(project, mode, 1), full: await nodeMemory(project, mode, 1 + INSTANCES) })));
  }
  console.log('-- bare Worker and bare node child starts');
  const bare = await attempt(() => bareStarts(project, 10));
  console.log('-- tsx watch');
  const tw = await attempt(() => tsxWatch(project));
  console.log(`-- ${INSTANCES} plain node processes (one per module, as PM2 runs them)`);
  const plain = await attempt(() => plainProcesses(project, INSTANCES));

  // 1. Reload latency.
  const twMedian = tw.ok ? stats(tw.value).median : NaN;
  for (const subject of SUBJECTS) {
    console.log(subject === 'hello'
      ? '\n== reload latency: the repo\'s hello (serveHttp; put in the mode by the node\'s "isolation" override), save -> the new text answers GET / =='
      : '\n== reload latency: a plain node:http module (its own listener on a fixed port), save -> the new text answers GET / ==');
    const median = new Map<Mode, number>();
    for (const mode of MODES) {
      const o = rc.get(mode)!;
      if (!o.ok) { console.log(`${mode.padEnd(22)} ${o.why}`); continue; }
      const r = o.value.reload[subject];
      const s: Stats = stats(r.times);
      median.set(mode, s.median);
      console.log(statsLine(`${mode} (save->GET)`, s));
      if (r.hostMs.length) console.log(statsLine(`${mode} (host log)`, stats(r.hostMs)));
    }
    if (tw.ok) console.log(statsLine('tsx watch (save->GET)', stats(tw.value)));
    else console.log(`tsx watch: failed: ${tw.why}`);
    const inproc = median.get('none') ?? NaN;
    for (const mode of MODES) {
      const m = median.get(mode);
      if (m === undefined) continue;
      const vsNone = m / inproc;
      const vsTsx = twMedian / m;
      let line = `${mode.padEnd(8)} ${x(vsNone)} the in-process median; tsx watch / ${mode}: ${x(vsTsx)}`;
      if (mode !== 'none') line += `; goal <= 2x in-process: ${vsNone <= 2 ? 'met' : 'NOT met'}; goal >= 10x faster than tsx watch: ${vsTsx >= 10 ? 'met' : 'NOT met'}`;
      console.log(line);
    }
  }
  if (bare.ok) console.log(`floor of an isolated start, outside Cheshire (median of 10): a bare Worker to its first message ${bare.value.worker.toFixed(1)} ms, a bare node child (fork) to its first message ${bare.value.process.toFixed(1)} ms`);
  else console.log(`bare starts: failed: ${bare.why}`);

  // 2. Dependency calls.
  console.log('\n== dependency-handle calls: in-process caller -> ctx.deps.calc.add (dynamic handle) -> provider in the mode ==');
  const base = rc.get('none');
  for (const conc of CONCURRENCY) {
    const ref = base?.ok ? base.value.calls.find((c) => c.conc === conc) : undefined;
    for (const mode of MODES) {
      const o = rc.get(mode)!;
      if (!o.ok) { console.log(`${mode.padEnd(8)} in flight ${String(conc).padStart(2)}: ${o.why}`); continue; }
      const c = o.value.calls.find((k) => k.conc === conc)!;
      const rel = ref && mode !== 'none' ? `; in-process is ${x(ref.perSec / c.perSec)} the calls/s, p99 ${x(c.p99 / ref.p99)} in-process` : '';
      console.log(`${mode.padEnd(8)} in flight ${String(conc).padStart(2)}: ${Math.round(c.perSec).toLocaleString('en-US').padStart(11)} calls/s  p50 ${(c.p50 * 1000).toFixed(1).padStart(8)} us  p99 ${(c.p99 * 1000).toFixed(1).padStart(8)} us${rel}`);
    }
  }

  // 3. Memory.
  console.log(`\n== memory per idle instance (the HTTP module; delta from 1 to ${1 + INSTANCES} instances) ==`);
  const perPlain = plain.ok ? plain.value : NaN;
  for (const mode of MODES) {
    const o = mem.get(mode)!;
    if (!o.ok) { console.log(`${mode.padEnd(8)} ${o.why}`); continue; }
    const { base: b, full: f } = o.value;
    const rss = (f.rss - b.rss) / INSTANCES;
    const heap = (f.heap - b.heap) / INSTANCES;
    // An in-process idle instance costs less than the RSS's own noise between two nodes (~1 MB).
    const vs = rss >= NOISE ? `a process per module uses ${x(perPlain / rss)} that RSS` : `below the noise (< ${NOISE / MB} MB): a process per module uses > ${x(perPlain / NOISE)} that`;
    console.log(`${mode.padEnd(8)} RSS ${mb(rss).padStart(9)} per instance (node tree ${mb(b.rss)} -> ${mb(f.rss)}); host heap ${kb(heap).padStart(8)} per instance; ${vs}`);
  }
  if (plain.ok) console.log(`process per module (PM2-like, ${INSTANCES} plain node processes): RSS ${mb(perPlain)} per process`);
  else console.log(`process per module: failed: ${plain.why}`);
  console.log(`\ncommand: npx tsx bench/isolation.ts ${EDITS} ${CALLS} ${INSTANCES}`);
} catch (err) {
  console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
  exitCode = 1;
} finally {
  await project.cleanup();
}
process.exit(exitCode);
