// The cost of relaying through a RemoteTree (fs/tree/remote.ts), measured with our own client:
//   bulk     read of a BULK_MIB file, MiB/s
//   stat     walk + getattr + clunk of SMALL small files, 16 in flight, ops/s:
//              "expired": each relay pass starts after the relay's attribute cache expired
//                         (every name and attribute is asked of the remote again; kept fids stay)
//              "cached":  passes right after another (what a repeated `ls -l` or stat walk sees)
// each directly against the remote and through a relay (a NineServer whose tree is a RemoteTree),
// for two remotes: our server over a memfs, and Debian's diod over a temp dir. Direct and relay
// runs alternate and the best of RUNS is kept for each, so a busy machine hurts both alike.
// Usage: npx tsx bench/remote.ts [BULK_MIB=16] [SMALL=2000] [RUNS=5] [LINK_MS=0]
//   LINK_MS > 0 puts a link with that latency each way (bench/delay-link.ts, a forwarder in its
//   own process) in front of each remote: the direct client and the relay both reach the remote
//   over it, the client reaches the relay over loopback. That is how a graft is used: the remote
//   is another node across a network, and the choice is between mounting it directly and reading
//   through the local node.
//   CHS_BENCH_RELAY_PROF=DIR also writes each relay process's CPU profile (node --cpu-prof) to DIR.
//
// The remote servers and the relays run in processes of their own (bench/remote-server.ts), so
// this process only runs the client. Goal (issue 13): relay/direct >= 0.8 for bulk and stat; the
// last lines say whether each is met. The relay process's CPU per MiB and per stat is printed too.
//
// 2026-12-04, 2 CPUs shared with other work (load 1-8: throughput moves 2-3x between runs, the
// relay's CPU far less). Ranges over 4 runs before (HEAD 247c0a3, same bench) and 9-12 after
// (kept fids, attribute cache, pipelined lookups, 64 KiB pieces), relay/direct:
//                 bulk                  stat, cache expired   stat, cached
//   our server    0.13-0.35 / 0.14-0.77   0.23-0.32 / 0.29-0.46   0.25-0.35 / 0.83-1.41
//   diod          0.32-0.44 / 0.28-1.16   0.31-0.38 / 0.34-0.55   0.28-0.48 / 1.07-3.56
// relay CPU: bulk 5.1-6.9 / 3.3-4.9 ms per MiB; stat expired (ours) 150-180 / 110-160 us,
// (diod) 220-250 / 200-250 us; stat cached 83-200 / 17-77 us.
// A cached stat asks the remote nothing, so it beats direct. With the cache expired each stat
// still costs the relay a walk (its getattr sent along) and the outer session's three requests,
// on top of the remote's work: on 2 CPUs shared by client, relay and remote that is CPU-bound
// below 0.8. Bulk from our server (1 GiB/s direct, in memory) is bound by the relay's ~4 ms of CPU
// per MiB (two more socket crossings); from diod (64 KiB msize, one read at a time direct) the
// relay's parallel pieces and read-ahead reach 0.3-1.2 (mostly 0.5-1). diod 1.0.24 sometimes dies
// of SIGSEGV during the stat passes (the bench then prints its exit); the relay reports EIO and
// reconnects.
//
// 2026-12-04 19:48-20:22 UTC, relay CPU per MiB halved (2 CPUs shared, load 1.8-5.2 from other
// benchmarks). `npx tsx bench/remote.ts 16 500 5`, 16 runs before (db76212, from a copy of that
// tree, alternating with after) and 11 after (88dea0f; diod died of SIGSEGV in 2 of them: only
// our server's figures there). Bulk only (the stat path was not touched). Over all the runs of
// the day diod died in 4 of 23 after and 0 of 19 before, each time in the relay's cache-expired
// stat pass, whose requests this work did not change; the relay's Twalk + Tgetattr on the new fid
// sent together (node.ts walkChild) racing in diod's threads is a suspect, not verified.
// Ranges (median), before -> after:
//                 relay/direct           relay MiB/s            relay CPU ms/MiB
//   our server    0.13-1.00 (0.34) ->    106-282 (185) ->       3.4-5.5 (4.2) ->
//                 0.32-1.10 (0.45)       170-540 (293)          1.25-2.4 (1.75)
//   diod          0.43-1.02 (0.69) ->    126-363 (260) ->       3.75-6.75 (4.75) ->
//                 0.63-1.09 (0.84)       220-454 (350)          2.0-2.6 (2.25)
// Goal >= 0.8: diod met in 6 of 9 runs (4 of 16 before); our server NOT met (3 of 11, 1 of 16
// before). Where the relay's CPU went (node --cpu-prof of the relay, 64 MiB reads;
// CHS_BENCH_RELAY_PROF): frames split across socket reads copied into fresh 64 KiB buffers by
// the client's splitter, and the GC of those (~0.7 ms/MiB; now read in place,
// fs/client/frame-reader.ts), the copy of a split read's pieces into one reply (~0.3; now written
// as they are, one writev: RemoteHandle.readPieces), 16 remote requests per MiB (now 8: 128 KiB
// pieces; 64 KiB with diod, whose msize is 64 KiB). What is left is
// mostly the kernel's two socket copies (~0.9 ms/MiB system time) and the per-request JS. Direct
// from our server reaches 0.25-1.4 GiB/s with the client and the server alone on the 2 CPUs; the
// relay is a third process on them, so 0.8 there needs the relay under ~0.25 of their CPU.
//
// 2026-12-04 22:00 UTC, after names are confirmed by their directory's stamp (fs/tree/remote/
// revalidate.ts: an expired stat costs the remote one getattr on the kept fid, not walk +
// getattr + clunk) and kept fids 256 -> 1024 (the 500 files fit). Load 0.7-1.2, relay/direct:
//   `npx tsx bench/remote.ts 16 500 5` (two runs) and `16 2000 5` (one), loopback:
//                 bulk               stat, cache expired   stat, cached
//   our server    0.57 / 0.36 / 0.50   0.32 / 0.41 / 0.38    0.80 / 0.99 / 1.06
//   diod          0.51 / 0.52 / 0.59   0.49 / 0.56 / 0.46    2.29 / 3.88 / 2.99
//   `npx tsx bench/remote.ts 16 500 5 1` (two runs), the remotes behind a 1 ms link:
//   our server    1.28 / 1.29          1.86 / 1.68           15.1 / 8.6
//   diod          6.81 / 9.81          1.54 / 1.74           12.0 / 20.5
// Over a link (how a graft is used: the remote is another node) the relay beats direct in every
// column: its parallel pieces and read-ahead keep the link busy where a direct reader waits a
// round trip per read (diod's 64 KiB msize: 21 MiB/s direct, 141-204 through the relay), and an
// expired stat is one round trip to the remote where direct needs three. On loopback the relay
// is pure extra CPU on 2 shared cores, and the goal is met only with the cache warm. Cold, it
// cannot be on this machine: a stat through the relay is the client's 3 requests served by the
// relay plus 1 request the relay sends and the remote serves, against 3 served by the remote
// directly (8 units of work against 6 at equal cost per request: 0.75 at best, CPU-bound), and a
// bulk MiB costs the relay ~1.9 ms of CPU (two more socket crossings; the kernel's copies alone
// are ~0.9 ms) on top of the ~2 ms the client and our server spend at 1 GiB/s. Relay CPU per
// expired stat is 250-340 us with 500 files and 123-176 us with 2000 (per-pass costs), per
// cached stat 18-68 us.
// Since then the relay to diod no longer pipelines a lookup's getattr at all (cache.pipeline is
// for Cheshire remotes: diod answered ENOENT for existing files under that race); the relay to
// our server does. Same command, one run each after: loopback bulk 0.79 / 0.71 (ours / diod),
// stat expired 0.57 / 0.50, cached 1.46 / 3.00; 1 ms link bulk 1.17 / 7.45, stat expired
// 1.56 / 1.77, cached 15.4 / 17.1.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../fs/client/client.ts';
import { DEFAULT_ATTR_MS } from '../fs/tree/remote/cache.ts';
import { diodBinary, freePort } from '../test/helpers/diod.ts';
import { intArg, REPO, sleep, spawnChild, waitReady } from './lib.ts';
import type { Child } from './lib.ts';

const BULK_MIB = intArg(0, 16, 1, 1024);
const SMALL = intArg(1, 2000, 10, 100_000);
const RUNS = intArg(2, 5, 1, 50);
const LINK_MS = intArg(3, 0, 0, 100);
const INFLIGHT = 16;
const GOAL = 0.8;

const cleanups: Array<() => Promise<unknown>> = [];
const relays: Child[] = [];
/** diod, whose log is shown when the run fails. */
const servers: Child[] = [];

const pids = new Map<number, number | undefined>();

/** CHS_BENCH_RELAY_PROF=DIR: the relays run under `node --cpu-prof` and leave their profiles in DIR. */
const PROF_DIR = process.env.CHS_BENCH_RELAY_PROF;

async function server(args: string[], what: string): Promise<number> {
  const prof = PROF_DIR && args[0] === 'relay' ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : [];
  const child = spawnChild(process.execPath, [...prof, '--import', 'tsx', join(REPO, 'bench/remote-server.ts'), ...args], { cwd: REPO });
  cleanups.push(() => child.stop());
  if (args[0] === 'relay') relays.push(child);
  const port = await waitReady(child, what);
  pids.set(port, child.proc.pid);
  return port;
}

/** A link with LINK_MS of latency each way to `port` (or `port` itself when LINK_MS is 0). */
async function linkTo(port: number): Promise<number> {
  if (LINK_MS === 0) return port;
  const child = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/delay-link.ts'), '0', String(port), String(LINK_MS)], { cwd: REPO });
  cleanups.push(() => child.stop());
  return waitReady(child, `link to ${port}`);
}

async function diod(dir: string): Promise<number> {
  const port = await freePort();
  const args = ['-f', '-n', '-l', `127.0.0.1:${port}`, '-e', dir, '-L', 'stderr', '-c', '/dev/null'];
  if (process.getuid?.() !== 0) args.push('-S');
  const child = spawnChild(diodBinary('diod'), args, { cwd: REPO });
  cleanups.push(() => child.stop());
  servers.push(child);
  const end = Date.now() + 10_000;
  for (;;) {
    try {
      const c = await Client.connect({ port, timeoutMs: 500 });
      await c.close();
      return port;
    } catch (err) {
      if (Date.now() > end) throw new Error(`diod not listening on ${port}: ${(err as Error).message}\n${child.output()}`);
      await sleep(50);
    }
  }
}

async function connect(port: number, aname: string): Promise<Client> {
  const c = await Client.connect({ port, timeoutMs: 5000 });
  cleanups.push(() => c.close());
  await c.attach({ aname });
  return c;
}

/** One read of `big`, in ms. */
async function bulkOnce(c: Client): Promise<number> {
  const t0 = performance.now();
  const b = await c.readFile('big');
  const ms = performance.now() - t0;
  if (b.length !== BULK_MIB << 20) throw new Error(`read ${b.length} bytes of big`);
  return ms;
}

/** One stat pass over every small file, in ms. */
async function statOnce(c: Client, what: string): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (next < SMALL) {
      const path = `small/f${next++}`;
      await c.statPath(path).catch((err: unknown) => { throw new Error(`stat of ${path} (${what}): ${String(err)}`, { cause: err }); });
    }
  }));
  return performance.now() - t0;
}

interface Row { name: string; bulk: number; statExpired: number; statCached: number }

/** CPU time (user + system) of process `pid` so far, in ms (Linux /proc; NaN elsewhere). */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // clock ticks, USER_HZ 100
  } catch {
    return Number.NaN;
  }
}

/**
 * One remote's figures. The relay process's CPU per MiB and per stat is printed too: on a busy
 * machine it moves far less than the throughput does.
 */
async function measure(name: string, direct: Client, relayed: Client, relayPid: number | undefined): Promise<Row> {
  await direct.readFile('big'); // warm the remote's caches
  await relayed.readFile('big');
  const best = { bd: Infinity, br: Infinity, sd: Infinity, se: Infinity, sc: Infinity };
  const cpu = { bulk: 0, expired: 0, cached: 0 };
  for (let i = 0; i < RUNS; i++) {
    best.bd = Math.min(best.bd, await bulkOnce(direct));
    const c0 = cpuMs(relayPid);
    best.br = Math.min(best.br, await bulkOnce(relayed));
    cpu.bulk += cpuMs(relayPid) - c0;
  }
  for (let i = 0; i < RUNS; i++) {
    const waited = Date.now();
    best.sd = Math.min(best.sd, await statOnce(direct, `${name} direct`));
    await sleep(Math.max(0, DEFAULT_ATTR_MS + 50 - (Date.now() - waited)));
    const c0 = cpuMs(relayPid);
    best.se = Math.min(best.se, await statOnce(relayed, `${name} relay`));
    cpu.expired += cpuMs(relayPid) - c0;
  }
  await statOnce(relayed, `${name} relay`);
  for (let i = 0; i < RUNS; i++) {
    const c0 = cpuMs(relayPid);
    best.sc = Math.min(best.sc, await statOnce(relayed, `${name} relay`));
    cpu.cached += cpuMs(relayPid) - c0;
  }
  const mibs = (ms: number): number => BULK_MIB / (ms / 1000);
  const ops = (ms: number): number => SMALL / (ms / 1000);
  const row = { name, bulk: best.bd / best.br, statExpired: best.sd / best.se, statCached: best.sd / best.sc };
  const f = (n: number): string => n.toFixed(0).padStart(6);
  console.log(`${name.padEnd(11)} bulk:         direct ${f(mibs(best.bd))} MiB/s (msize ${direct.msize}), relay ${f(mibs(best.br))} MiB/s -> relay/direct ${row.bulk.toFixed(2)}`);
  console.log(`${''.padEnd(11)} stat expired: direct ${f(ops(best.sd))} ops/s, relay ${f(ops(best.se))} ops/s -> relay/direct ${row.statExpired.toFixed(2)}`);
  console.log(`${''.padEnd(11)} stat cached:  direct ${f(ops(best.sd))} ops/s, relay ${f(ops(best.sc))} ops/s -> relay/direct ${row.statCached.toFixed(2)}`);
  const per = (ms: number, n: number): string => (ms / n).toFixed(2);
  console.log(`${''.padEnd(11)} relay CPU: ${per(cpu.bulk, RUNS * BULK_MIB)} ms/MiB bulk, ${per(cpu.expired * 1000, RUNS * SMALL)} µs/stat expired, ${per(cpu.cached * 1000, RUNS * SMALL)} µs/stat cached`);
  return row;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'chs-bench-remote-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const chunk = Buffer.alloc(1 << 20);
  const parts: Buffer[] = [];
  for (let i = 0; i < BULK_MIB; i++) parts.push(Buffer.from(chunk.fill(i & 0xff)));
  await writeFile(join(dir, 'big'), Buffer.concat(parts));
  await mkdir(join(dir, 'small'));
  for (let i = 0; i < SMALL; i++) await writeFile(join(dir, 'small', `f${i}`), `${i}\n`);

  const ours = await linkTo(await server(['inner', '0', String(BULK_MIB), String(SMALL)], 'our server'));
  const oursRelay = await server(['relay', '0', String(ours)], 'relay to our server');
  const diodPort = await linkTo(await diod(dir));
  const diodRelay = await server(['relay', '0', String(diodPort), dir], 'relay to diod');

  const link = LINK_MS > 0 ? `; the remotes behind a ${LINK_MS} ms (each way) link, the relays on this side of it` : '';
  console.log(`bulk read of ${BULK_MIB} MiB and stat of ${SMALL} files (${INFLIGHT} in flight), best of ${RUNS} alternating runs, our client, msize 1 MiB asked; relay attribute cache ${DEFAULT_ATTR_MS} ms (default)${link}`);
  const rows = [
    await measure('our server', await connect(ours, ''), await connect(oursRelay, ''), pids.get(oursRelay)),
    await measure('diod', await connect(diodPort, dir), await connect(diodRelay, ''), pids.get(diodRelay)),
  ];
  for (const r of rows) {
    const verdict = (x: number): string => `${x.toFixed(2)} ${x >= GOAL ? 'met' : 'NOT met'}`;
    console.log(`goal >= ${GOAL}x, ${r.name}: bulk ${verdict(r.bulk)}; stat (cache expired) ${verdict(r.statExpired)}; stat (cached) ${verdict(r.statCached)}`);
  }
  for (const c of relays) {
    const out = c.output().split('\n').filter((l) => l && !l.startsWith('READY'));
    if (out.length > 0) console.log(`relay output (faults?):\n${out.slice(0, 40).join('\n')}`);
  }
}

try {
  await main();
} catch (err) {
  for (const c of [...relays, ...servers]) {
    const ended = c.proc.exitCode !== null || c.proc.signalCode !== null ? ` (exited: ${c.proc.exitCode ?? c.proc.signalCode})` : ' (running)';
    console.error(`output of a server${ended}:\n${c.output().split('\n').filter((l) => !/invalid fid/.test(l)).slice(-40).join('\n')}`);
  }
  throw err;
} finally {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
}
