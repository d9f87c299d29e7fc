// Reload latency: time from saving hello's index.ts (a new GREETING literal) to GET / answering
// the new text, on a Cheshire node (in-process hot reload, listener handed over), then the same
// for an equivalent plain node:http server restarted by `tsx watch`.
//
//   npx tsx bench/reload.ts [edits=20]
//
// Each edit writes the file in place, then polls GET / over one keep-alive connection (1 ms
// between answers) until the new text comes back. The clock starts just before the write.
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import {
  intArg, makeProjectCopy, pollUntil, primeWatcher, progress, progressDone, sleep, startNode, stats, statsLine,
  underTsxWatch, uniqueGreeting, waitServing, withGreeting, type BenchProject, type Child, type Stats,
} from './lib.ts';

const EDITS = intArg(0, 20, 1, 500);
/** Optional: overrides watch.debounceMs in the copied cheshire.json (default: the project's, 2 ms). */
const DEBOUNCE_MS = process.argv[3] === undefined ? undefined : intArg(1, 10, 0, 1_000);
const WARMUP = 2;
const PAUSE_MS = 250;
const CHESHIRE_EDIT_TIMEOUT_MS = 10_000;
const WATCH_EDIT_TIMEOUT_MS = 20_000;

interface Run {
  times: number[];
  warmup: number[];
}

/** Performs WARMUP + EDITS edits, each waiting for the new text; returns the timed ones. */
async function measure(label: string, url: string, edit: (greeting: string) => Promise<void>, agent: http.Agent, timeoutMs: number): Promise<Run> {
  const run: Run = { times: [], warmup: [] };
  for (let i = 0; i < WARMUP + EDITS; i++) {
    const greeting = uniqueGreeting(label, i);
    const t0 = performance.now();
    await edit(greeting);
    const ms = await pollUntil(url, `${greeting}\n`, agent, t0, timeoutMs);
    (i < WARMUP ? run.warmup : run.times).push(ms);
    progress(`${label}: edit ${i + 1}/${WARMUP + EDITS} ${ms.toFixed(1)} ms`);
    await sleep(PAUSE_MS);
  }
  progressDone();
  return run;
}

async function benchCheshire(project: BenchProject): Promise<{ run: Run; hostMs: number[]; bootMs: number; primeMs: number; primeSaves: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let node: Child | null = null;
  try {
    node = startNode(project.configFile);
    const bootMs = await waitServing(node, project.helloUrl, 'Hello from Cheshire\n', agent);
    const save = (g: string) => writeFile(project.helloIndex, withGreeting(project.helloSource, g));
    const prime = await primeWatcher(project.helloUrl, save, agent);
    const before = node.output().length;
    const run = await measure('cheshire', project.helloUrl, save, agent, CHESHIRE_EDIT_TIMEOUT_MS);
    // The host's own figure: "hello reloaded v1.0.0 #hash in N ms" (watcher event -> new version active).
    await sleep(50);
    const hostMs = [...node.output().slice(Math.max(0, before - 200)).matchAll(/hello reloaded v\S+ #\w+ in (\d+) ms/g)].map((m) => Number(m[1]));
    return { run, hostMs: hostMs.slice(-EDITS), bootMs, primeMs: prime.ms, primeSaves: prime.saves };
  } finally {
    agent.destroy();
    await node?.stop();
  }
}

const serverSource = (greeting: string, port: number) => `// standalone equivalent of modules/hello GET /, for tsx watch
import http from 'node:http';

const GREETING = '${greeting}';

const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(\`\${GREETING}\\n\`);
});
server.listen(${port}, '127.0.0.1');
`;

function benchTsxWatch(project: BenchProject): Promise<{ run: Run; bootMs: number }> {
  return underTsxWatch(project.dir, serverSource, async (w) => ({
    run: await measure('tsx watch', w.url, (g) => writeFile(w.file, serverSource(g, w.port)), w.agent, WATCH_EDIT_TIMEOUT_MS),
    bootMs: w.bootMs,
  }));
}

function show(label: string, s: Stats): void {
  console.log(statsLine(label, s));
}

const project = await makeProjectCopy({ debounceMs: DEBOUNCE_MS });
let exitCode = 0;
try {
  console.log(`reload latency: ${EDITS} timed edits (+${WARMUP} warm-up) per server, ${PAUSE_MS} ms pause, cheshire watch.debounceMs ${DEBOUNCE_MS ?? 'as configured (2)'}; temp copy ${project.dir}`);
  const ch = await benchCheshire(project);
  const tw = await benchTsxWatch(project);
  const c = stats(ch.run.times);
  const w = stats(tw.run.times);
  console.log('');
  console.log(`boot to first answer: cheshire ${ch.bootMs.toFixed(0)} ms, tsx watch ${tw.bootMs.toFixed(0)} ms`);
  console.log(`cheshire: first save picked up ${ch.primeMs.toFixed(0)} ms after the first answer (${ch.primeSaves} save(s); saves before the watcher is ready are lost)`);
  console.log(`warm-up edits: cheshire ${ch.run.warmup.map((x) => x.toFixed(1)).join(', ')} ms; tsx watch ${tw.run.warmup.map((x) => x.toFixed(1)).join(', ')} ms`);
  show('cheshire (save->GET)', c);
  if (ch.hostMs.length) show('cheshire (host log)', stats(ch.hostMs));
  show('tsx watch (save->GET)', w);
  const ratio = w.median / c.median;
  console.log(`ratio tsx watch median / cheshire median: ${ratio.toFixed(1)}x`);
  const okLatency = c.median <= 25;
  const okRatio = ratio >= 30;
  console.log(`target cheshire median <= 25 ms: ${okLatency ? 'met' : 'NOT met'} (${c.median.toFixed(1)} ms); >= 30x faster than tsx watch: ${okRatio ? 'met' : 'NOT met'} (${ratio.toFixed(1)}x)`);
} catch (err) {
  console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
  exitCode = 1;
} finally {
  await project.cleanup();
}
process.exit(exitCode);
