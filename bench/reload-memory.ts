// Memory and handles across reloads: one in-process Host on a temp copy of the project reloads
// hello many times, each time with new content (a new GREETING written before host.reload, which
// re-bundles from disk). Heap after forced GC and the active resource count are compared before
// and after; GET / must still answer the last greeting.
//
//   node --expose-gc --import tsx bench/reload-memory.ts [reloads=1000]
//
// The baseline is taken after a few warm-up reloads (lazy first-use allocations are not leaks).
import http from 'node:http';
import { writeFile } from 'node:fs/promises';
import { Host } from '../core/host.ts';
import { createLogging } from '../core/log.ts';
import { get, intArg, makeProjectCopy, progress, progressDone, stats, statsLine, uniqueGreeting, withGreeting } from './lib.ts';

const RELOADS = intArg(0, 1000, 1, 20_000);
const WARMUP = 20;
const TARGET_MB = 2;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('reload-memory: run with --expose-gc: node --expose-gc --import tsx bench/reload-memory.ts [reloads]');
  process.exit(2);
}

const MB = 1024 * 1024;

interface Snapshot {
  heapUsed: number;
  external: number;
  rss: number;
  resources: string[];
}

async function settle(): Promise<Snapshot> {
  for (let i = 0; i < 6; i++) {
    gc!();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 10));
  }
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, external: m.external, rss: m.rss, resources: process.getActiveResourcesInfo() };
}

function countBy(xs: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
}

function resourceDiff(a: string[], b: string[]): string {
  const ca = countBy(a);
  const cb = countBy(b);
  const keys = [...new Set([...ca.keys(), ...cb.keys()])].sort();
  return keys.map((k) => `${k} ${ca.get(k) ?? 0}->${cb.get(k) ?? 0}`).join(', ');
}

const project = await makeProjectCopy({ prefix: 'chs-bench-mem-' });
const host = new Host({ configFile: project.configFile, logging: createLogging({ out: null }), watch: false });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
let exitCode = 0;
try {
  await host.start();
  const hello = host.instances.get('hello');
  if (!hello || hello.state !== 'active') throw new Error(`hello did not start: ${hello?.lastError?.message ?? hello?.state ?? 'not planned'}`);
  console.log(`reload memory: ${RELOADS} reloads of hello (+${WARMUP} warm-up), each with new content; temp copy ${project.dir}`);

  let n = 0;
  let last = 'Hello from Cheshire';
  const reloadOnce = async (): Promise<number> => {
    last = uniqueGreeting('mem', n++);
    await writeFile(project.helloIndex, withGreeting(project.helloSource, last));
    const t0 = performance.now();
    await host.reload('hello');
    return performance.now() - t0;
  };

  const atStart = await settle();
  for (let i = 0; i < WARMUP; i++) await reloadOnce();
  const before = await settle();
  const times: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < RELOADS; i++) {
    times.push(await reloadOnce());
    if ((i + 1) % 50 === 0) progress(`reload ${i + 1}/${RELOADS}, heap ${(process.memoryUsage().heapUsed / MB).toFixed(1)} MB`);
  }
  progressDone();
  const wall = performance.now() - t0;
  const after = await settle();

  const reply = await get(project.helloUrl, agent);
  const served = reply.status === 200 && reply.body === `${last}\n`;
  agent.destroy();

  const inst = host.instances.get('hello')!;
  const growth = (after.heapUsed - before.heapUsed) / MB;
  const handleGrowth = after.resources.length - before.resources.length;
  console.log(statsLine('host.reload()', stats(times)));
  console.log(`wall ${(wall / 1000).toFixed(1)} s, ${(RELOADS / (wall / 1000)).toFixed(0)} reloads/s; hello reloads counted by the host: ${inst.reloads}, state ${inst.state}`);
  console.log(`heap used after GC: start ${(atStart.heapUsed / MB).toFixed(2)} MB, after warm-up ${(before.heapUsed / MB).toFixed(2)} MB, after ${RELOADS} reloads ${(after.heapUsed / MB).toFixed(2)} MB`);
  console.log(`heap growth over ${RELOADS} reloads: ${growth.toFixed(2)} MB (${((growth * MB) / RELOADS / 1024).toFixed(2)} KB/reload); from start: ${((after.heapUsed - atStart.heapUsed) / MB).toFixed(2)} MB`);
  console.log(`external ${(before.external / MB).toFixed(2)} -> ${(after.external / MB).toFixed(2)} MB, rss ${(before.rss / MB).toFixed(1)} -> ${(after.rss / MB).toFixed(1)} MB`);
  console.log(`active resources: ${before.resources.length} -> ${after.resources.length} (${resourceDiff(before.resources, after.resources)})`);
  console.log(`GET / after the last reload: ${reply.status} ${JSON.stringify(reply.body)} (${served ? 'the last greeting' : 'NOT the last greeting'})`);
  const ok = growth <= TARGET_MB && handleGrowth <= 0 && served;
  console.log(`target growth <= ${TARGET_MB} MB, no handle growth, GET / works: ${ok ? 'met' : 'NOT met'}`);
} catch (err) {
  console.error(`\nbench failed: ${(err as Error).stack ?? String(err)}`);
  exitCode = 1;
} finally {
  agent.destroy();
  await host.close();
  await project.cleanup();
}
process.exit(exitCode);
