// Shared helpers for the benchmarks: a throw-away copy of the project in a temp dir (so the repo's
// own modules/ are never edited), free loopback ports, a Cheshire node as a child process,
// keep-alive HTTP GETs, rewriting hello's GREETING literal, and small statistics.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../base/free-port.ts';

export { freePort };

/** The repository root (bench/..). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Cleanups still to run (child processes, temp dirs). Children run in their own process group, so
 * a Ctrl-C at the terminal does not reach them: on SIGINT/SIGTERM these run before exiting.
 */
const pending = new Set<() => Promise<void>>();
let interrupted = false;
function onSignal(sig: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = true;
  console.error(`\n${sig}: cleaning up`);
  void Promise.allSettled([...pending].map((fn) => fn())).then(() => process.exit(130));
}
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

/** Memoizes `fn` (runs at most once) and runs it on interrupt unless it already ran. */
function cleanupLater<A extends unknown[]>(fn: (...args: A) => Promise<void>, interruptArgs: A): (...args: A) => Promise<void> {
  let done: Promise<void> | null = null;
  const once = (...args: A) => {
    pending.delete(onInterrupt);
    return (done ??= fn(...args));
  };
  const onInterrupt = () => once(...interruptArgs);
  pending.add(onInterrupt);
  return once;
}


export interface BenchProject {
  dir: string;
  configFile: string;
  helloPort: number;
  shoutPort: number;
  /** Absolute path of the copy's modules/hello/index.ts. */
  helloIndex: string;
  /** The copy's original hello/index.ts source. */
  helloSource: string;
  helloUrl: string;
  cleanup(): Promise<void>;
}

/**
 * Copies cheshire.json, config/ and modules/ into a fresh temp dir and points hello and shout at
 * free ports. Nothing of the repo is linked in: the modules import only `cheshire/sdk`, which the
 * host maps to its own copy, as it does for a module anywhere on disk.
 */
export async function makeProjectCopy(opts: { prefix?: string; debounceMs?: number } = {}): Promise<BenchProject> {
  const prefix = opts.prefix ?? 'chs-bench-';
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    await cp(join(REPO, 'config'), join(dir, 'config'), { recursive: true });
    await cp(join(REPO, 'modules'), join(dir, 'modules'), { recursive: true });
    const helloPort = await freePort();
    let shoutPort = await freePort();
    while (shoutPort === helloPort) shoutPort = await freePort();
    const raw = JSON.parse(await readFile(join(REPO, 'cheshire.json'), 'utf8')) as Record<string, unknown>;
    const modules = { ...(raw.modules as Record<string, Record<string, unknown>> | undefined) };
    modules.hello = { ...modules.hello, host: '127.0.0.1', port: helloPort };
    modules.shout = { ...modules.shout, host: '127.0.0.1', port: shoutPort };
    const configFile = join(dir, 'cheshire.json');
    const config: Record<string, unknown> = { ...raw, node: 'bench', modules };
    if (opts.debounceMs !== undefined) config.watch = { ...(raw.watch as object | undefined), debounceMs: opts.debounceMs };
    await writeFile(configFile, JSON.stringify(config, null, 2) + '\n');
    const helloIndex = join(dir, 'modules/hello/index.ts');
    const helloSource = await readFile(helloIndex, 'utf8');
    if (!GREETING_RE.test(helloSource)) throw new Error(`${helloIndex}: no "const GREETING = '...'" line to rewrite`);
    return {
      dir,
      configFile,
      helloPort,
      shoutPort,
      helloIndex,
      helloSource,
      helloUrl: `http://127.0.0.1:${helloPort}/`,
      cleanup: cleanupLater(() => rm(dir, { recursive: true, force: true }), []),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

const GREETING_RE = /const GREETING = '[^'\n]*';/;

/** `source` with its GREETING literal replaced by `greeting` (no quotes or newlines in it). */
export function withGreeting(source: string, greeting: string): string {
  return source.replace(GREETING_RE, `const GREETING = '${greeting}';`);
}

/** A greeting nobody has served yet. */
export function uniqueGreeting(tag: string, i: number): string {
  return `Hello ${tag} #${i} ${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface Reply {
  status: number;
  body: string;
}

/** GET through a keep-alive agent; rejects on connection errors and after `timeoutMs`. */
export function get(url: string, agent: http.Agent, timeoutMs = 3_000): Promise<Reply> {
  return new Promise((res, rej) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d: string) => { body += d; });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      r.on('error', rej);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', rej);
  });
}

/**
 * Polls `url` (one request in flight, `everyMs` between answers) until the body is `want`;
 * returns the elapsed ms from `t0` (performance.now()) or throws after `timeoutMs`.
 */
export async function pollUntil(url: string, want: string, agent: http.Agent, t0: number, timeoutMs: number, everyMs = 1): Promise<number> {
  const deadline = t0 + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const r = await get(url, agent, 1_000);
      if (r.status === 200 && r.body === want) return performance.now() - t0;
      last = `${r.status} ${JSON.stringify(r.body.slice(0, 80))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (performance.now() > deadline) throw new Error(`GET ${url} did not answer ${JSON.stringify(want)} within ${timeoutMs} ms (last: ${last})`);
    await sleep(everyMs);
  }
}

export interface Child {
  proc: ChildProcess;
  /** Recent combined stdout/stderr, for error reports. */
  output(): string;
  /** SIGTERM to the child's process group, SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Spawns a process in its own process group (so stop() also reaches anything it spawned). */
export function spawnChild(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Child {
  const proc = spawn(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const keep = (d: Buffer) => { out = (out + d.toString('utf8')).slice(-20_000); };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => {
    if (proc.exitCode !== null || proc.signalCode !== null) r();
    else proc.once('exit', () => r());
  });
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (proc.pid !== undefined) process.kill(-proc.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const stopNow = async (graceMs: number) => {
    if (proc.exitCode === null && proc.signalCode === null) signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => { timer = setTimeout(() => r(true), graceMs); })]);
    clearTimeout(timer);
    if (killed) {
      signal('SIGKILL');
      await exited;
    }
    // The group may still hold grandchildren (e.g. tsx watch's node) if the leader exited first.
    signal('SIGKILL');
  };
  const stop = cleanupLater(stopNow, [1_000]);
  return { proc, output: () => out, stop: (graceMs = 3_000) => stop(graceMs) };
}

/** `node --import tsx <repo>/core/cli/main.ts start --config <file>`, quiet logging. */
export function startNode(configFile: string): Child {
  return spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'core/cli/main.ts'), 'start', '--config', configFile], {
    cwd: REPO,
    env: { CHESHIRE_LOG_LEVEL: process.env.CHESHIRE_LOG_LEVEL ?? 'info' },
  });
}

/** Waits until `url` answers 200 with `want`, or the child exits, or `timeoutMs` passes. */
export async function waitServing(child: Child, url: string, want: string, agent: http.Agent, timeoutMs = 20_000): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`the process exited (${child.proc.exitCode ?? child.proc.signalCode}) before serving ${url}:\n${child.output()}`);
    }
    try {
      const r = await get(url, agent, 1_000);
      if (r.status === 200 && r.body === want) return performance.now() - t0;
    } catch {
      /* not up yet */
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`${url} not serving ${JSON.stringify(want)} after ${timeoutMs} ms:\n${child.output()}`);
    await sleep(20);
  }
}

/** A standalone server under `tsx watch`, serving; what the benchmarks compare a reload with. */
export interface TsxWatched {
  file: string;
  port: number;
  url: string;
  agent: http.Agent;
  /** ms from spawning `tsx watch` to the first right answer. */
  bootMs: number;
}

/**
 * Writes `source('Hello from tsx watch', port)` to `<dir>/tsx-watch/server.ts`, runs it under
 * `tsx watch` until it serves, hands it to `body` (which edits the file and measures), and stops
 * it afterwards.
 */
export async function underTsxWatch<T>(dir: string, source: (greeting: string, port: number) => string, body: (w: TsxWatched) => Promise<T>): Promise<T> {
  const folder = join(dir, 'tsx-watch');
  await mkdir(folder, { recursive: true });
  const file = join(folder, 'server.ts');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  await writeFile(file, source('Hello from tsx watch', port));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let child: Child | null = null;
  try {
    child = spawnChild(join(REPO, 'node_modules/.bin/tsx'), ['watch', '--clear-screen=false', file], { cwd: folder });
    const bootMs = await waitServing(child, url, 'Hello from tsx watch\n', agent);
    return await body({ file, port, url, agent, bootMs });
  } finally {
    agent.destroy();
    await child?.stop();
  }
}

/**
 * The host starts watching only after its instances are up (and chokidar's initial scan takes a
 * while), and a save made before the watcher is ready is never picked up. So before timing, save
 * a new greeting every `everyMs` until one is served; returns ms from the call to that moment.
 */
export async function primeWatcher(url: string, edit: (greeting: string) => Promise<void>, agent: http.Agent, timeoutMs = 20_000, everyMs = 300): Promise<{ ms: number; saves: number }> {
  const t0 = performance.now();
  for (let i = 0; ; i++) {
    const greeting = uniqueGreeting('prime', i);
    await edit(greeting);
    try {
      await pollUntil(url, `${greeting}\n`, agent, performance.now(), everyMs);
      return { ms: performance.now() - t0, saves: i + 1 };
    } catch {
      if (performance.now() - t0 > timeoutMs) throw new Error(`no save was picked up within ${timeoutMs} ms (${i + 1} saves to ${url})`);
    }
  }
}

/** Progress on a terminal only (a carriage-return line); nothing when output is piped. */
export function progress(text: string): void {
  if (process.stdout.isTTY) process.stdout.write(`\r${text}   `);
}

export function progressDone(): void {
  if (process.stdout.isTTY) process.stdout.write('\n');
}

export interface Stats {
  n: number;
  median: number;
  p90: number;
  min: number;
  max: number;
  mean: number;
}

export function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => {
    if (!s.length) return NaN;
    const i = (s.length - 1) * p;
    const lo = Math.floor(i);
    const hi = Math.ceil(i);
    return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
  };
  return { n: s.length, median: q(0.5), p90: q(0.9), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

export const fmt = (ms: number) => (Number.isFinite(ms) ? ms.toFixed(1).padStart(8) : '       -');

export function statsLine(label: string, s: Stats): string {
  return `${label.padEnd(22)} n=${String(s.n).padStart(4)}  median ${fmt(s.median)} ms  p90 ${fmt(s.p90)} ms  min ${fmt(s.min)} ms  max ${fmt(s.max)} ms`;
}

/** Positional integer argument `index` (after the script), clamped to [min, max]. */
export function intArg(index: number, dflt: number, min: number, max: number): number {
  const raw = process.argv[2 + index];
  if (raw === undefined) return dflt;
  const n = Number.parseInt(raw, 10);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`argument ${index + 1}: expected an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
  return n;
}

/** Waits until a child's server accepts TCP connections on 127.0.0.1:port (fails if it exits). */
export async function waitListening(child: Child, port: number, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) {
      throw new Error(`${what} exited (${child.proc.exitCode ?? child.proc.signalCode}) before listening:\n${child.output()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${what} not listening on 127.0.0.1:${port} after ${timeoutMs} ms:\n${child.output()}`);
    await sleep(50);
  }
}

/** Runs a tool, counting stdout bytes without keeping them; kills it after `timeoutMs`. */
export function runCounting(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; bytes: number; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { bytes += d.length; });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString('utf8'); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, bytes, stderr, ms: performance.now() - t0 });
    });
  });
}

/** Waits for a benchmark server child to print `READY PORT` (fails if it exits or times out). */
export async function waitReady(child: Child, what: string, timeoutMs = 20_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const m = /READY (\d+)/.exec(child.output());
    if (m) return Number(m[1]);
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`${what} exited before READY:\n${child.output()}`);
    if (Date.now() > end) throw new Error(`${what} not READY within ${timeoutMs} ms:\n${child.output()}`);
    await sleep(20);
  }
}
