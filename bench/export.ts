// Our local-directory export (fs/tree/export.ts) against diod exporting the same directory, side
// by side in one run, measured with the same clients (see bench/export.md):
//   bulk   diodcat of a 64 MiB file, MiB/s, median of a few runs (page cache warm for both)
//   stat   walk + stat of every entry of a tree of 100 directories x 100 small files with our
//          client (fs/client/client.ts): ls(dir, {attrs: true}) of the top directory and of each
//          of the 100 (Treaddir, then Twalk + Tgetattr + Tclunk per entry, all of one directory
//          pipelined), entries/s, median of a few runs
// and the same two through a relay of our export (a NineServer over RemoteTree, which is what a
// styx-client graft of another node is): relay/direct is the cost of the graft.
// Usage: npx tsx bench/export.ts [--quick]
//
// Every server runs in a process of its own (bench/export-server.ts under `node --import tsx`,
// diod with its 16 worker threads); this process only runs the clients. Measurements alternate
// between the servers (one order, then the reverse on the next round) so drift hits all alike.
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../fs/client/client.ts';
import { diodBinary } from '../test/helpers/diod.ts';
import { freePort, REPO, runCounting, spawnChild, stats, waitListening, waitReady } from './lib.ts';

const quick = process.argv.includes('--quick');
const BULK_RUNS = quick ? 3 : 5;
const STAT_RUNS = quick ? 3 : 5;
const WARMUP = 2; // rounds of both measurements on every server before timing
const BULK_MIB = 64;
const BULK_BYTES = BULK_MIB << 20;
const DIRS = 100;
const PER_DIR = 100;
const ENTRIES = DIRS + DIRS * PER_DIR; // the top listing's directories, then every file
const MSIZE = 65536; // diodcat's default and diod's cap: the same for every server and client
const DEADLINE_MS = quick ? 120_000 : 240_000; // the whole benchmark, servers up to last figure

interface Server { name: string; addr: string; port: number; aname: string }

const deadline = Date.now() + DEADLINE_MS;
function inTime(what: string): void {
  if (Date.now() > deadline) throw new Error(`benchmark over its ${DEADLINE_MS / 1000} s budget (at ${what})`);
}



/** diodcat of the 64 MiB file: MiB/s over the whole run (process start to exit). */
async function bulk(s: Server): Promise<number> {
  inTime(`bulk ${s.name}`);
  const r = await runCounting(diodBinary('diodcat'), ['-s', s.addr, '-a', s.aname, '-m', String(MSIZE), '-t', '10', 'big'], 30_000);
  if (r.code !== 0 || r.bytes !== BULK_BYTES) throw new Error(`diodcat against ${s.name}: exit ${r.code}, ${r.bytes} of ${BULK_BYTES} bytes: ${r.stderr}`);
  return BULK_MIB / (r.ms / 1000);
}

const WALK_TIMEOUT_MS = 60_000;

/** One walk of the whole tree with stats: entries/s, on a fresh connection (attach included). */
async function walkStat(s: Server): Promise<number> {
  inTime(`stat ${s.name}`);
  const c = await Client.connect({ port: s.port, msize: MSIZE, timeoutMs: 5000 });
  // A server that stops answering fails the run instead of hanging it: closing the connection
  // rejects whatever is in flight.
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; void c.close(); }, WALK_TIMEOUT_MS);
  try {
    return await walkOn(c, s);
  } catch (err) {
    if (timedOut) throw new Error(`stat walk on ${s.name} took over ${WALK_TIMEOUT_MS} ms`);
    throw err;
  } finally {
    clearTimeout(timer);
    await c.close();
  }
}

async function walkOn(c: Client, s: Server): Promise<number> {
  const t0 = performance.now();
  await c.attach({ aname: s.aname });
  const top = await c.ls('tree', { attrs: true });
  let n = top.length;
  let bytes = 0n;
  for (const d of top) {
    if (!d.isDir) throw new Error(`${s.name}: tree/${d.name} is not a directory`);
    const files = await c.ls(`tree/${d.name}`, { attrs: true });
    if (files.length !== PER_DIR) throw new Error(`${s.name}: tree/${d.name} lists ${files.length} entries, not ${PER_DIR}`);
    for (const f of files) bytes += f.size;
    n += files.length;
  }
  const ms = performance.now() - t0;
  // Every file holds 8 bytes: a listing without real attributes would show 0.
  if (n !== ENTRIES || bytes !== BigInt(DIRS * PER_DIR * 8)) throw new Error(`${s.name}: ${n} entries, ${bytes} bytes; want ${ENTRIES}, ${DIRS * PER_DIR * 8}`);
  return n / (ms / 1000);
}

const pad = (s: string, n: number) => s.padStart(n);
const num = (x: number) => (x >= 100 ? Math.round(x).toString() : x.toFixed(1));

/** Runs `fn` on every server `runs` times, alternating the order; the samples per server. */
async function rounds(servers: Server[], runs: number, fn: (s: Server) => Promise<number>): Promise<Record<string, number[]>> {
  const got: Record<string, number[]> = Object.fromEntries(servers.map((s) => [s.name, []]));
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? servers : [...servers].reverse();
    for (const s of order) got[s.name]!.push(await fn(s));
  }
  return got;
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const dir = await mkdtemp(join(tmpdir(), 'chs-bench-export-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    const big = Buffer.alloc(BULK_BYTES);
    for (let i = 0; i < BULK_MIB; i++) big.fill(i & 0xff, i << 20, (i + 1) << 20);
    await writeFile(join(dir, 'big'), big);
    await mkdir(join(dir, 'tree'));
    for (let d = 0; d < DIRS; d++) {
      const sub = join(dir, 'tree', `d${String(d).padStart(3, '0')}`);
      await mkdir(sub);
      await Promise.all(Array.from({ length: PER_DIR }, (_, f) => writeFile(join(sub, `f${String(f).padStart(3, '0')}`), `${String(d * PER_DIR + f).padStart(7, '0')}\n`)));
    }

    const spawnOurs = async (args: string[], what: string): Promise<number> => {
      const child = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/export-server.ts'), ...args], { cwd: REPO });
      cleanups.push(() => child.stop());
      return waitReady(child, what);
    };
    const diodPort = await freePort();
    const diodArgs = ['-f', '-n', '-l', `127.0.0.1:${diodPort}`, '-e', dir, '-L', 'stderr', '-c', '/dev/null'];
    if (process.getuid?.() !== 0) diodArgs.push('-S');
    const diod = spawnChild(diodBinary('diod'), diodArgs, { cwd: REPO });
    cleanups.push(() => diod.stop());
    const [oursPort] = await Promise.all([spawnOurs(['export', '0', dir], 'our export'), waitListening(diod, diodPort, 'diod')]);
    const relayPort = await spawnOurs(['relay', '0', String(oursPort)], 'relay of our export');

    const ours: Server = { name: 'ours', addr: `127.0.0.1:${oursPort}`, port: oursPort, aname: '/' };
    const diodS: Server = { name: 'diod', addr: `127.0.0.1:${diodPort}`, port: diodPort, aname: dir };
    const relay: Server = { name: 'relay', addr: `127.0.0.1:${relayPort}`, port: relayPort, aname: '/' };
    const all = [ours, diodS, relay];
    // Warm-up: page cache (the file, the tree's inodes) and our JIT (the first few reads of a
    // fresh node process run at half speed); every figure is checked (bytes, entries, sizes).
    for (let i = 0; i < WARMUP; i++) {
      for (const s of all) {
        await bulk(s);
        await walkStat(s);
      }
    }

    console.log(`export benchmark, ${quick ? 'quick' : 'full'}: diodcat ${BULK_MIB} MiB x${BULK_RUNS}, stat walk of ${ENTRIES} entries (${DIRS} dirs x ${PER_DIR} files) x${STAT_RUNS}; medians; msize ${MSIZE}`);
    console.log(`ours:  node ${process.version} --import tsx bench/export-server.ts export (exportTree, read-only), one process`);
    console.log(`diod:  ${diodBinary('diod')} -e DIR (16 worker threads)`);
    console.log(`relay: bench/export-server.ts relay -> ours (NineServer over RemoteTree, as a styx-client graft), one more process`);
    console.log(`machine: ${cpus().length} CPUs, shared by servers and clients\n`);

    const bulkRuns = await rounds(all, BULK_RUNS, bulk);
    const statRuns = await rounds(all, STAT_RUNS, walkStat);

    const med = (r: Record<string, number[]>, n: string) => stats(r[n]!).median;
    const span = (r: Record<string, number[]>, n: string) => { const s = stats(r[n]!); return `${num(s.min)}..${num(s.max)}`; };
    console.log(`${'metric'.padEnd(30)} ${pad('ours', 8)} ${pad('diod', 8)} ${pad('relay', 8)} ${'unit'.padEnd(10)} ${pad('ours/diod', 9)}  target        ${pad('relay/ours', 10)}`);
    const missed: string[] = [];
    const row = (label: string, unit: string, r: Record<string, number[]>, target: number) => {
      const o = med(r, 'ours');
      const d = med(r, 'diod');
      const x = med(r, 'relay');
      const ok = o / d >= target;
      if (!ok) missed.push(label);
      console.log(`${label.padEnd(30)} ${pad(num(o), 8)} ${pad(num(d), 8)} ${pad(num(x), 8)} ${unit.padEnd(10)} ${pad((o / d).toFixed(2), 9)}  ${(ok ? 'met' : 'NOT met').padEnd(7)} >= ${target}  ${pad((x / o).toFixed(2), 10)}`);
      console.log(`${''.padEnd(30)} [ours ${span(r, 'ours')}, diod ${span(r, 'diod')}, relay ${span(r, 'relay')}]`);
    };
    row(`bulk read ${BULK_MIB} MiB (diodcat)`, 'MiB/s', bulkRuns, 0.8);
    row(`stat walk ${ENTRIES} (ls -l)`, 'entries/s', statRuns, 1);
    console.log(`\ntargets ${missed.length === 0 ? 'all met' : `NOT met: ${missed.join('; ')}`}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup:', err));
  }
}

await main();
