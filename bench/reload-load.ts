// Reloads under load: a Cheshire node (child process, temp copy of the project) serves GET / to
// ~8 concurrent keep-alive clients without pause while hello's index.ts is saved repeatedly; each
// save waits until its new text is served before the next one. Every request is counted, and
// every failure (connection refused/reset, timeout, non-200) is counted by kind.
//
//   npx tsx bench/reload-load.ts [reloads=100] [concurrency=8]
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import {
  get, intArg, makeProjectCopy, primeWatcher, progress, progressDone, sleep, startNode, stats, statsLine,
  uniqueGreeting, waitServing, withGreeting, type Child,
} from './lib.ts';

const RELOADS = intArg(0, 100, 1, 2_000);
const CONCURRENCY = intArg(1, 8, 1, 64);
const EDIT_TIMEOUT_MS = 10_000;
const PAUSE_MS = 60; // > chokidar's 50 ms change throttle, so every save is its own event
const SETTLE_MS = 500; // load before the first and after the last save
const REQUEST_TIMEOUT_MS = 5_000;

interface Counters {
  requests: number;
  ok: number;
  failures: Map<string, number>;
  /** Answers with an older text after a newer one had been served to someone. */
  stale: number;
  latencies: number[];
  firstFailures: string[];
}

const project = await makeProjectCopy({ prefix: 'chs-bench-load-' });
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const primeAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let node: Child | null = null;
let stop = false;
let workers: Promise<void>[] = [];
let exitCode = 0;
try {
  node = startNode(project.configFile);
  await waitServing(node, project.helloUrl, 'Hello from Cheshire\n', primeAgent);
  const save = (g: string) => writeFile(project.helloIndex, withGreeting(project.helloSource, g));
  await primeWatcher(project.helloUrl, save, primeAgent);
  primeAgent.destroy();

  const c: Counters = { requests: 0, ok: 0, failures: new Map(), stale: 0, latencies: [], firstFailures: [] };
  const fail = (kind: string, detail: string) => {
    c.failures.set(kind, (c.failures.get(kind) ?? 0) + 1);
    if (c.firstFailures.length < 10) c.firstFailures.push(`${kind}: ${detail}`);
  };
  /** Version number of each text served (its save's index), and the newest one seen. */
  const versionOf = new Map<string, number>();
  let newest = -1;
  let waiter: { body: string; resolve: () => void } | null = null;

  const worker = async () => {
    while (!stop) {
      const t0 = performance.now();
      c.requests++;
      try {
        const r = await get(project.helloUrl, agent, REQUEST_TIMEOUT_MS);
        c.latencies.push(performance.now() - t0);
        if (r.status !== 200) {
          fail(`HTTP ${r.status}`, r.body.slice(0, 120));
          continue;
        }
        c.ok++;
        const v = versionOf.get(r.body);
        if (v !== undefined) {
          if (v < newest) c.stale++;
          else newest = v;
        }
        if (waiter && r.body === waiter.body) waiter.resolve();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        fail(e.code ?? (/no answer/.test(e.message) ? 'timeout' : 'error'), e.message);
        await sleep(2); // no hot loop while refused
      }
    }
  };

  workers = Array.from({ length: CONCURRENCY }, () => worker());
  await sleep(SETTLE_MS);
  const reloadMs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < RELOADS; i++) {
    const greeting = uniqueGreeting('load', i);
    const body = `${greeting}\n`;
    versionOf.set(body, i);
    const served = new Promise<void>((resolve) => { waiter = { body, resolve }; });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`save ${i + 1}: new text not served within ${EDIT_TIMEOUT_MS} ms`)), EDIT_TIMEOUT_MS);
    });
    const ts = performance.now();
    await save(greeting);
    try {
      await Promise.race([served, timeout]);
    } finally {
      clearTimeout(timer);
      waiter = null;
    }
    reloadMs.push(performance.now() - ts);
    progress(`save ${i + 1}/${RELOADS}: ${c.requests} requests, ${failedSoFar(c)} failed`);
    await sleep(PAUSE_MS);
  }
  const editWall = performance.now() - t0;
  await sleep(SETTLE_MS);
  stop = true;
  await Promise.all(workers);
  progressDone();

  const failed = failedSoFar(c);
  console.log(`reloads under load: ${RELOADS} saves of hello, ${CONCURRENCY} concurrent keep-alive clients; temp copy ${project.dir}`);
  console.log(`requests ${c.requests}, ok ${c.ok}, failed ${failed}${failed ? ` (${[...c.failures].map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`);
  for (const f of c.firstFailures) console.log(`  ${f}`);
  const wallS = (editWall + 2 * SETTLE_MS) / 1000;
  console.log(`throughput ~${(c.requests / wallS).toFixed(0)} req/s over ${wallS.toFixed(1)} s; stale answers (older text after a newer one was served): ${c.stale}`);
  console.log(statsLine('request latency', stats(c.latencies)));
  const ls = [...c.latencies].sort((a, b) => a - b);
  console.log(`request latency p99 ${(ls[Math.floor(ls.length * 0.99)] ?? NaN).toFixed(1)} ms, p99.9 ${(ls[Math.floor(ls.length * 0.999)] ?? NaN).toFixed(1)} ms`);
  console.log(statsLine('save -> served (load)', stats(reloadMs)));
  console.log(`target 0 failed: ${failed === 0 ? 'met' : 'NOT met'}`);
  if (failed) exitCode = 1;
} catch (err) {
  console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
  exitCode = 1;
} finally {
  stop = true;
  await Promise.allSettled(workers);
  agent.destroy();
  primeAgent.destroy();
  await node?.stop();
  await project.cleanup();
}
process.exit(exitCode);

function failedSoFar(c: Counters): number {
  return [...c.failures.values()].reduce((a, b) => a + b, 0);
}
