// Our 9P server against diod, side by side in one run, driven by the same C client tools from
// Debian's diod package (see bench/9p.md):
//   diodload -g      getattr ops/s on ctl:null, 1 and 16 connections (one request in flight each)
//   diodload         read ctl:zero / write ctl:null pairs at msize 65536 (64 KiB I/O), 1 and 16
//   diodcat          bulk read of a 64 MiB file, MiB/s, median of a few runs
// Usage: npx tsx bench/9p.ts [--quick]
//
// Our server runs in its own process (bench/9p-server.ts under `node --import tsx`), so this
// process's own CPU use does not count against it. diod exports its built-in `ctl` file system
// (which has zero and null) and a temp dir holding a real 64 MiB file, read once before timing so
// it is in the page cache. Both servers run for the whole benchmark; measurements alternate
// between them (ours, diod, then diod, ours on the next round) so drift hits both alike, and the
// median of the rounds is compared (other load on the machine shows up as outliers).
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diodBinary } from '../test/helpers/diod.ts';
import { freePort, REPO, runCounting, sleep, spawnChild, stats, waitListening } from './lib.ts';
import type { Child } from './lib.ts';

const quick = process.argv.includes('--quick');
const RUNTIME_S = 2; // diodload -r
const ROUNDS = quick ? 1 : 3; // diodload runs per server and metric (alternating order); the median counts
const BULK_RUNS = quick ? 3 : 5;
const BULK_MIB = 64;
const BULK_BYTES = BULK_MIB << 20;
const MSIZE = 65536; // diodload's and diodcat's default; diod caps msize at 64 KiB anyway

interface Server { name: string; addr: string; aname: string; child: Child }


/**
 * One diodload run. Its loop ends when time(NULL) reaches start-second + runtime and it prints
 * opcount / runtime, so an unaligned start loses up to a second of the run: start just after a
 * second boundary, which makes the printed figure the true rate (within ~1%).
 */
async function diodload(s: Server, getattr: boolean, conns: number): Promise<{ ops: number; rMB: number }> {
  const ms = Date.now() % 1000;
  await sleep(ms < 5 ? 5 - ms : 1005 - ms);
  const args = ['-s', s.addr, '-n', String(conns), '-r', String(RUNTIME_S), '-m', String(MSIZE)];
  if (getattr) args.unshift('-g');
  const r = await runCounting(diodBinary('diodload'), args, (RUNTIME_S + 10) * 1000);
  const m = /(\d+) ops\/s, (\d+) rMB\/s/.exec(r.stderr);
  if (r.code !== 0 || !m) throw new Error(`diodload ${args.join(' ')} against ${s.name} failed (${r.code}): ${r.stderr}`);
  return { ops: Number(m[1]), rMB: Number(m[2]) };
}

/** diodcat of the 64 MiB file: MiB/s over the whole run (process start to exit). */
async function bulk(s: Server): Promise<number> {
  const r = await runCounting(diodBinary('diodcat'), ['-s', s.addr, '-a', s.aname, '-m', String(MSIZE), '-t', '10', 'big'], 30_000);
  if (r.code !== 0 || r.bytes !== BULK_BYTES) throw new Error(`diodcat against ${s.name}: exit ${r.code}, ${r.bytes} of ${BULK_BYTES} bytes: ${r.stderr}`);
  return BULK_MIB / (r.ms / 1000);
}

const pad = (s: string, n: number) => s.padStart(n);
const num = (x: number) => (x >= 100 ? Math.round(x).toString() : x.toFixed(1));

interface Row { label: string; unit: string; ours: number; diod: number; target: number }
const rows: Row[] = [];

function report(r: Row, detail = ''): void {
  rows.push(r);
  const ratio = r.ours / r.diod;
  console.log(`${r.label.padEnd(34)} ${pad(num(r.ours), 9)} ${pad(num(r.diod), 9)} ${r.unit.padEnd(6)} ${pad(ratio.toFixed(2), 6)}  ${ratio >= r.target ? 'met' : 'NOT met'} (>= ${r.target})${detail}`);
}

async function main(): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const dir = await mkdtemp(join(tmpdir(), 'chs-bench-9p-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    const big = Buffer.alloc(BULK_BYTES);
    for (let i = 0; i < BULK_MIB; i++) big.fill(i & 0xff, i << 20, (i + 1) << 20);
    await writeFile(join(dir, 'big'), big);

    const ourPort = await freePort();
    const ours = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/9p-server.ts'), String(ourPort), String(BULK_MIB)], { cwd: REPO });
    cleanups.push(() => ours.stop());
    let diodPort = await freePort();
    while (diodPort === ourPort) diodPort = await freePort();
    const diodArgs = ['-f', '-n', '-l', `127.0.0.1:${diodPort}`, '-e', 'ctl', '-e', dir, '-L', 'stderr', '-c', '/dev/null'];
    if (process.getuid?.() !== 0) diodArgs.push('-S');
    const diod = spawnChild(diodBinary('diod'), diodArgs, { cwd: REPO });
    cleanups.push(() => diod.stop());
    await Promise.all([waitListening(ours, ourPort, 'our server'), waitListening(diod, diodPort, 'diod')]);

    const servers: Server[] = [
      { name: 'ours', addr: `127.0.0.1:${ourPort}`, aname: '/', child: ours },
      { name: 'diod', addr: `127.0.0.1:${diodPort}`, aname: dir, child: diod },
    ];
    // Warm-up: JIT our paths, fill the page cache with diod's file; both checked byte for byte (count).
    for (const s of servers) {
      await bulk(s);
      await runCounting(diodBinary('diodload'), ['-g', '-s', s.addr, '-n', '4', '-r', '1'], 10_000);
      await runCounting(diodBinary('diodload'), ['-s', s.addr, '-n', '4', '-r', '1'], 10_000);
    }

    console.log(`9P benchmark, ${quick ? 'quick' : 'full'}: diodload -r ${RUNTIME_S} x${ROUNDS} per server (median), diodcat x${BULK_RUNS} (median); msize ${MSIZE}`);
    console.log(`ours: node ${process.version} --import tsx bench/9p-server.ts (TypeScript through tsx's loader), one process`);
    console.log(`diod: ${diodBinary('diod')} (its default 16 worker threads), exporting ctl and a temp dir`);
    console.log(`machine: ${(await import('node:os')).cpus().length} CPUs, shared by servers and clients\n`);
    console.log(`${'metric'.padEnd(34)} ${pad('ours', 9)} ${pad('diod', 9)} ${'unit'.padEnd(6)} ${pad('ratio', 6)}  target`);

    const loads: { label: string; getattr: boolean; conns: number; target: number }[] = [
      { label: 'getattr, 1 connection', getattr: true, conns: 1, target: 1 },
      { label: 'getattr, 16 connections', getattr: true, conns: 16, target: 1 },
      { label: 'read+write 64 KiB, 1 connection', getattr: false, conns: 1, target: 0.8 },
      { label: 'read+write 64 KiB, 16 connections', getattr: false, conns: 16, target: 0.8 },
    ];
    for (const l of loads) {
      const got: Record<string, { ops: number; rMB: number }[]> = { ours: [], diod: [] };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const s of order) got[s.name]!.push(await diodload(s, l.getattr, l.conns));
      }
      const o = stats(got.ours!.map((x) => x.ops)).median;
      const d = stats(got.diod!.map((x) => x.ops)).median;
      const each = ROUNDS > 1 ? `  [ours ${got.ours!.map((x) => x.ops).join('/')}, diod ${got.diod!.map((x) => x.ops).join('/')}]` : '';
      const mb = l.getattr ? '' : `  (${Math.round(o * 65512 / 2 ** 20)} vs ${Math.round(d * 65512 / 2 ** 20)} MiB/s each way)`;
      report({ label: l.label, unit: l.getattr ? 'ops/s' : 'pairs/s', ours: o, diod: d, target: l.target }, mb + each);
    }

    const bulkRuns: Record<string, number[]> = { ours: [], diod: [] };
    for (let i = 0; i < BULK_RUNS; i++) {
      const order = i % 2 === 0 ? servers : [...servers].reverse();
      for (const s of order) bulkRuns[s.name]!.push(await bulk(s));
    }
    const bo = stats(bulkRuns.ours!);
    const bd = stats(bulkRuns.diod!);
    report({ label: `diodcat ${BULK_MIB} MiB (median of ${BULK_RUNS})`, unit: 'MiB/s', ours: bo.median, diod: bd.median, target: 0.8 },
      `  [ours ${bo.min.toFixed(0)}..${bo.max.toFixed(0)}, diod ${bd.min.toFixed(0)}..${bd.max.toFixed(0)}]`);

    const missed = rows.filter((r) => r.ours / r.diod < r.target).map((r) => r.label);
    console.log(`\ntargets ${missed.length === 0 ? 'all met' : `NOT met: ${missed.join('; ')}`}`);
  } finally {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error('cleanup:', err));
  }
}

await main();
