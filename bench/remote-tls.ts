// What TLS 1.3 between nodes costs a graft (docs/tls.md), measured with our own client:
//   bulk     read of a BULK_MIB file, MiB/s (best of a few runs)
//   stat     walk + getattr + clunk of SMALL small files, 16 in flight, ops/s
// through a graft (a NineServer whose tree is a RemoteTree, as styx-client's /net/NAME) whose
// link to the remote is TLS pinned to the remote's key, against the same graft over plaintext;
// and the same two directly against the remote (our client over TLS vs plaintext).
// Usage: npx tsx bench/remote-tls.ts [BULK_MIB=16] [SMALL=2000] [ROUNDS=2]
// (each round measures both sides, in alternating order; each side's best is kept)
//
// The remote and the grafts run in processes of their own (bench/remote-tls-server.ts); the
// remote serves TLS and plaintext on one port, as styx-root does. Modelled on bench/remote.ts.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../fs/client/client.ts';
import { identityFromKey } from '../core/identity.ts';
import { intArg, REPO, spawnChild, waitReady } from './lib.ts';

const BULK_MIB = intArg(0, 16, 1, 1024);
const SMALL = intArg(1, 2000, 10, 100_000);
const ROUNDS = intArg(2, 2, 1, 50);
const RUNS = 3;
const INFLIGHT = 16;

const cleanups: Array<() => Promise<unknown>> = [];

function server(args: string[], what: string): Promise<number> {
  const child = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'bench/remote-tls-server.ts'), ...args], { cwd: REPO });
  cleanups.push(() => child.stop());
  return waitReady(child, what);
}

async function connect(port: number, tls?: Parameters<typeof Client.connect>[0]['tls']): Promise<Client> {
  const c = await Client.connect({ port, timeoutMs: 5000, ...(tls ? { tls } : {}) });
  cleanups.push(() => c.close());
  await c.attach({ aname: '' });
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
  const dir = await mkdtemp(join(tmpdir(), 'chs-bench-remote-tls-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const keyFile = async (name: string) => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const file = join(dir, `${name}.pem`);
    await writeFile(file, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    return { file, identity: identityFromKey(privateKey) };
  };
  const remoteKey = await keyFile('remote');
  const graftKey = await keyFile('graft');
  const clientKey = await keyFile('client');

  const remote = await server(['inner', '0', String(BULK_MIB), String(SMALL), remoteKey.file], 'the remote (TLS + plaintext)');
  const graftTls = await server(['relay', '0', String(remote), graftKey.file, remoteKey.identity.publicKey], 'graft over TLS');
  const graftPlain = await server(['relay', '0', String(remote), graftKey.file], 'graft over plaintext');
  const tls = { credentials: await clientKey.identity.tls(), expectKey: remoteKey.identity.publicKey };

  const rows: Array<[string, Client, Client]> = [
    ['graft', await connect(graftPlain), await connect(graftTls)],
    ['direct', await connect(remote), await connect(remote, tls)],
  ];
  console.log(`bulk read of ${BULK_MIB} MiB (best of ${RUNS}) and stat of ${SMALL} files (${INFLIGHT} in flight), our client, msize 1 MiB asked; TLS 1.3 (${process.version})`);
  for (const [name, plain, secure] of rows) {
    // Warm both up, then measure in alternating order (plaintext first, then TLS first) and keep
    // each side's best, so neither gains from running second on a warmer process.
    for (const c of [plain, secure]) { await c.readFile('big'); for (let i = 0; i < Math.min(SMALL, 500); i++) await c.statPath(`small/f${i}`); }
    let bp = 0, bt = 0, sp = 0, st = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const pair = r % 2 === 0 ? [plain, secure] : [secure, plain];
      for (const c of pair) { const v = await bulk(c); if (c === plain) bp = Math.max(bp, v); else bt = Math.max(bt, v); }
      for (const c of pair) { const v = await statAll(c); if (c === plain) sp = Math.max(sp, v); else st = Math.max(st, v); }
    }
    console.log(`${name.padEnd(7)} bulk: plaintext ${bp.toFixed(0).padStart(5)} MiB/s, TLS ${bt.toFixed(0).padStart(5)} MiB/s -> TLS/plaintext ${(bt / bp).toFixed(2)}`);
    console.log(`${''.padEnd(7)} stat: plaintext ${sp.toFixed(0).padStart(5)} ops/s, TLS ${st.toFixed(0).padStart(5)} ops/s -> TLS/plaintext ${(st / sp).toFixed(2)}`);
  }
}

try {
  await main();
} finally {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
}
