// The cost of relaying through a RemoteTree (fs/tree/remote.ts), measured with our own client:
//   bulk     read of a BULK_MIB file, MiB/s (best of a few runs)
//   stat     walk + getattr + clunk of SMALL small files, 16 in flight, ops/s
// each directly against the remote and through a relay (a NineServer whose tree is a RemoteTree),
// for two remotes: our server over a memfs, and Debian's diod over a temp dir.
// Usage: npx tsx bench/remote.ts [BULK_MIB=16] [SMALL=2000]
//
// The remote servers and the relays run in processes of their own (bench/remote-server.ts), so
// this process only runs the client. The relay walks a fresh fid from its root for every
// metadata request (see fs/tree/remote/node.ts): stat through it costs one more round trip
// between relay and remote; reads on an open file cost none.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../fs/client/client.ts';
import { diodBinary, freePort } from '../test/helpers/diod.ts';
import { intArg, REPO, sleep, spawnChild, waitReady } from './lib.ts';

const BULK_MIB = intArg(0, 16, 1, 1024);
const SMALL = intArg(1, 2000, 10, 100_000);
const RUNS = 3;
const INFLIGHT = 16;

const cleanups: Array<() => Promise<unknown>> = [];


function server(args: string[], what: string): Promise<number> {
  const child = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/remote-server.ts'), ...args], { cwd: REPO });
  cleanups.push(() => child.stop());
  return waitReady(child, what);
}

async function diod(dir: string): Promise<number> {
  const port = await freePort();
  const args = ['-f', '-n', '-l', `127.0.0.1:${port}`, '-e', dir, '-L', 'stderr', '-c', '/dev/null'];
  if (process.getuid?.() !== 0) args.push('-S');
  const child = spawnChild(diodBinary('diod'), args, { cwd: REPO });
  cleanups.push(() => child.stop());
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

async function bulk(c: Client): Promise<number> {
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const b = await c.readFile('big');
    best = Math.min(best, performance.now() - t0);
    if (b.length !== BULK_MIB << 20) throw new Error(`read ${b.length} bytes of big`);
  }
  return BULK_MIB / (best / 1000);
}

async function statAll(c: Client): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: INFLIGHT }, async () => {
      while (next < SMALL) await c.statPath(`small/f${next++}`);
    }));
    best = Math.min(best, performance.now() - t0);
  }
  return SMALL / (best / 1000);
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

  const ours = await server(['inner', '0', String(BULK_MIB), String(SMALL)], 'our server');
  const oursRelay = await server(['relay', '0', String(ours)], 'relay to our server');
  const diodPort = await diod(dir);
  const diodRelay = await server(['relay', '0', String(diodPort), dir], 'relay to diod');

  const rows: Array<[string, Client, Client]> = [
    ['our server', await connect(ours, ''), await connect(oursRelay, '')],
    ['diod', await connect(diodPort, dir), await connect(diodRelay, '')],
  ];
  console.log(`bulk read of ${BULK_MIB} MiB (best of ${RUNS}) and stat of ${SMALL} files (${INFLIGHT} in flight), our client, msize 1 MiB asked`);
  for (const [name, direct, relayed] of rows) {
    await direct.readFile('big'); // warm caches
    const bd = await bulk(direct);
    const br = await bulk(relayed);
    const sd = await statAll(direct);
    const sr = await statAll(relayed);
    console.log(`${name.padEnd(11)} bulk: direct ${bd.toFixed(0).padStart(5)} MiB/s (msize ${direct.msize}), relay ${br.toFixed(0).padStart(5)} MiB/s -> relay/direct ${(br / bd).toFixed(2)}`);
    console.log(`${''.padEnd(11)} stat: direct ${sd.toFixed(0).padStart(5)} ops/s, relay ${sr.toFixed(0).padStart(5)} ops/s -> relay/direct ${(sr / sd).toFixed(2)}`);
  }
}

try {
  await main();
} finally {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
}
