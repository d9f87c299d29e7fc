// The fileserver against nginx from Debian, side by side in the same run (issue 6):
//   1 KiB in-memory asset, 64 KiB and 4 MiB store files (4 MiB twice: from the memory cache, and
//   streamed from disk by a second instance whose memoryMaxFileBytes is 1 MiB): wrk, 32
//   connections, 2 threads, DURATION seconds per run, ROUNDS rounds alternating nginx and us;
//   median requests/s, MB/s and p99, and the ratio to nginx;
//   upload: a UPLOAD_MIB random file POSTed with curl (fsync and commit included), MB/s against
//   `sha256sum` of the same file (page cache warm), ROUNDS rounds, medians.
// Usage: npx tsx bench/http-fileserver.ts [DURATION=4] [ROUNDS=3] [UPLOAD_MIB=256]
// Needs nginx, wrk and curl on PATH (Debian: apt-get install -y nginx wrk curl).
//
// nginx: 1 worker, sendfile on, tcp_nopush, access_log off, on 127.0.0.1:<free port>, root = the
// same files. Cheshire: a node started as a child process on a throw-away project (the
// fileserver module copied in) with styx-root for the
// /fileserver/ctl that issues the upload tokens. Everything is stopped and removed at the end,
// on an error and on Ctrl-C.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../fs/client/client.ts';
import { freePort, intArg, REPO, sleep, spawnChild, stats, type Child } from './lib.ts';

const run = promisify(execFile);
const DURATION = intArg(0, 4, 1, 60);
const ROUNDS = intArg(1, 3, 1, 20);
const UPLOAD_MIB = intArg(2, 256, 1, 4096);

interface WrkResult { rps: number; mbps: number; p99ms: number }

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const t = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(out);
  const mult = { B: 1 / 1e6, KB: 1024 / 1e6, MB: 1024 ** 2 / 1e6, GB: 1024 ** 3 / 1e6 } as const;
  const mbps = t ? Number(t[1]) * mult[t[2] as keyof typeof mult] : NaN;
  const p = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const p99ms = p ? Number(p[1]) * (p[2] === 'us' ? 0.001 : p[2] === 's' ? 1000 : 1) : NaN;
  return { rps, mbps, p99ms };
}

async function wrk(url: string): Promise<WrkResult> {
  const { stdout } = await run('wrk', ['-t2', '-c32', `-d${DURATION}s`, '--latency', '--timeout', '5s', url], { timeout: (DURATION + 30) * 1000 });
  if (/Non-2xx/.test(stdout)) throw new Error(`wrk got non-2xx answers from ${url}:\n${stdout}`);
  return parseWrk(stdout);
}

async function waitHttp(url: string, child: Child, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`exited before serving ${url}:\n${child.output()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`${url} not serving after ${timeoutMs} ms:\n${child.output()}`);
    await sleep(50);
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const med = (xs: number[]) => stats(xs).median;
const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

async function main(): Promise<void> {
  for (const tool of ['nginx', 'wrk', 'curl', 'sha256sum']) {
    try { await run('sh', ['-c', `command -v ${tool}`]); } catch { throw new Error(`${tool} not found (Debian: apt-get install -y nginx wrk curl)`); }
  }
  const dir = await mkdtemp(join(tmpdir(), 'chs-bench-fs-'));
  const children: Child[] = [];
  let client: Client | undefined;
  const cleanup = async () => {
    await client?.close().catch(() => undefined);
    for (const c of children) await c.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => { void cleanup().then(() => process.exit(130)); });
  try {
    // --- the files: one copy for nginx's root, the same bytes for the fileserver -------------
    await chmod(dir, 0o755); // nginx's worker runs as nobody when started by root: it must read www/
    const www = join(dir, 'www');
    const storeDir = join(dir, 'store');
    await mkdir(www);
    const files = { a1k: randomBytes(1024), f64k: randomBytes(64 * 1024), f4m: randomBytes(4 * 1024 * 1024) };
    for (const [name, data] of Object.entries(files)) await writeFile(join(www, `${name}.bin`), data);
    const assetsDir = join(dir, 'assets');
    await mkdir(assetsDir);
    await writeFile(join(assetsDir, 'a1k.bin'), files.a1k);
    for (const data of [files.f64k, files.f4m]) {
      const sha = sha256(data);
      await mkdir(join(storeDir, 'objects', sha.slice(0, 2)), { recursive: true });
      await writeFile(join(storeDir, 'objects', sha.slice(0, 2), sha), data);
    }

    // --- nginx ------------------------------------------------------------------------------
    const nginxPort = await freePort();
    await mkdir(join(dir, 'nginx'));
    const conf = join(dir, 'nginx', 'nginx.conf');
    await writeFile(conf, `worker_processes 1;
daemon off;
pid ${join(dir, 'nginx', 'nginx.pid')};
error_log ${join(dir, 'nginx', 'error.log')};
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${join(dir, 'nginx')};
  proxy_temp_path ${join(dir, 'nginx')};
  fastcgi_temp_path ${join(dir, 'nginx')};
  uwsgi_temp_path ${join(dir, 'nginx')};
  scgi_temp_path ${join(dir, 'nginx')};
  types { application/octet-stream bin; }
  server { listen 127.0.0.1:${nginxPort}; root ${www}; }
}
`);
    const nginx = spawnChild('nginx', ['-c', conf, '-p', join(dir, 'nginx'), '-e', join(dir, 'nginx', 'error.log')], { cwd: dir });
    children.push(nginx);

    // --- a Cheshire node with the fileserver (two instances) and styx-root --------------------
    const project = join(dir, 'project');
    await mkdir(join(project, 'modules'), { recursive: true });
    await mkdir(join(project, 'config', 'roles'), { recursive: true });
    for (const m of ['fileserver', 'styx-root']) await cp(join(REPO, 'modules', m), join(project, 'modules', m), { recursive: true });
    const [fsPort, streamPort, styxPort] = [await freePort(), await freePort(), await freePort()];
    await writeFile(join(project, 'config', 'roles', 'bench.json'), JSON.stringify({ modules: ['styx-root', 'fileserver', 'fileserver#stream'] }));
    const common = { host: '127.0.0.1', storeDir, assetsDir };
    await writeFile(join(project, 'cheshire.json'), JSON.stringify({
      node: 'bench-fs', role: 'bench', moduleDirs: ['modules'], stateDir: '.cheshire', watch: { enabled: false },
      modules: {
        'styx-root': { listen: `127.0.0.1:${styxPort}` },
        fileserver: { ...common, port: fsPort },
        'fileserver#stream': { ...common, port: streamPort, memoryMaxFileBytes: 1024 * 1024, mountPath: '/fileserver-stream' },
      },
    }, null, 2));
    const node = spawnChild(process.execPath, ['--import', 'tsx', join(REPO, 'core/cli/main.ts'), 'start', '--config', join(project, 'cheshire.json')], {
      cwd: project, env: { CHESHIRE_LOG_LEVEL: process.env.CHESHIRE_LOG_LEVEL ?? 'warn' },
    });
    children.push(node);
    let stopping = false;
    node.proc.once('exit', (code, signal) => { if (!stopping) console.error(`the Cheshire node exited early (${code ?? signal})`); });

    const ours = `http://127.0.0.1:${fsPort}`;
    const theirs = `http://127.0.0.1:${nginxPort}`;
    const streamed = `http://127.0.0.1:${streamPort}`;
    const cases = [
      { label: '1 KiB asset (memory)', nginx: `${theirs}/a1k.bin`, ours: `${ours}/a1k.bin`, target: 0.8, metric: 'rps' as const },
      { label: '64 KiB store file', nginx: `${theirs}/f64k.bin`, ours: `${ours}/static/${sha256(files.f64k)}/f64k.bin`, target: 0.5, metric: 'rps' as const },
      { label: '4 MiB store (memory)', nginx: `${theirs}/f4m.bin`, ours: `${ours}/static/${sha256(files.f4m)}/f4m.bin`, target: 0.7, metric: 'mbps' as const },
      { label: '4 MiB store (streamed)', nginx: `${theirs}/f4m.bin`, ours: `${streamed}/static/${sha256(files.f4m)}/f4m.bin`, target: 0.7, metric: 'mbps' as const },
    ];
    await waitHttp(`${theirs}/a1k.bin`, nginx);
    for (const c of cases) await waitHttp(c.ours, node); // also warms the caches

    console.log(`wrk -t2 -c32 -d${DURATION}s, ${ROUNDS} rounds (nginx and Cheshire alternating), medians; node ${process.version}`);
    const header = `${'case'.padEnd(24)} ${'nginx req/s'.padStart(11)} ${'MB/s'.padStart(7)} ${'p99 ms'.padStart(7)} | ${'ours req/s'.padStart(11)} ${'MB/s'.padStart(7)} ${'p99 ms'.padStart(7)} | ratio  target`;
    console.log(header);
    for (const c of cases) {
      const n: WrkResult[] = [];
      const o: WrkResult[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        n.push(await wrk(c.nginx));
        o.push(await wrk(c.ours));
      }
      const nm = { rps: med(n.map((x) => x.rps)), mbps: med(n.map((x) => x.mbps)), p99: med(n.map((x) => x.p99ms)) };
      const om = { rps: med(o.map((x) => x.rps)), mbps: med(o.map((x) => x.mbps)), p99: med(o.map((x) => x.p99ms)) };
      const ratio = om[c.metric] / nm[c.metric];
      console.log(`${c.label.padEnd(24)} ${f(nm.rps).padStart(11)} ${f(nm.mbps).padStart(7)} ${f(nm.p99, 1).padStart(7)} | ${f(om.rps).padStart(11)} ${f(om.mbps).padStart(7)} ${f(om.p99, 1).padStart(7)} | ${ratio.toFixed(2)}x  ${c.metric === 'rps' ? 'req/s' : 'MB/s'} >= ${c.target}x ${ratio >= c.target ? 'met' : 'NOT met'}`);
    }

    // --- upload vs sha256sum ------------------------------------------------------------------
    client = await Client.connect({ port: styxPort, version: '9P2000.u', timeoutMs: 5000 });
    await client.attach({ uname: 'bench' });
    const token = async (): Promise<string> => {
      const fid = await client!.walkPath('/fileserver/ctl');
      try {
        await client!.open(fid, 'rw');
        await client!.writeAll(fid, 0n, Buffer.from(`token maxBytes=${UPLOAD_MIB * 1024 * 1024} ttl=600\n`));
        return Buffer.from(await client!.read(fid, 0n, 4096)).toString('utf8').split(' ')[0]!;
      } finally {
        await client!.clunk(fid);
      }
    };
    const big = join(dir, 'upload.bin');
    {
      const fh = await open(big, 'w');
      const chunk = 16 * 1024 * 1024;
      for (let at = 0; at < UPLOAD_MIB * 1024 * 1024; at += chunk) await fh.write(randomBytes(Math.min(chunk, UPLOAD_MIB * 1024 * 1024 - at)));
      await fh.close();
    }
    const mb = (UPLOAD_MIB * 1024 * 1024) / 1e6;
    const sums: number[] = [];
    const ups: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // a different first block per round: every upload is a new object (no dedup shortcut)
      const fh = await open(big, 'r+');
      await fh.write(randomBytes(4096), 0, 4096, 0);
      await fh.close();
      await run('sha256sum', [big]); // warm the page cache
      let t0 = performance.now();
      const { stdout: sumOut } = await run('sha256sum', [big]);
      sums.push(mb / ((performance.now() - t0) / 1000));
      const expected = sumOut.split(' ')[0]!;
      const t = await token();
      t0 = performance.now();
      const { stdout } = await run('curl', ['-sS', '--fail-with-body', '-X', 'POST', '-H', `Authorization: Bearer ${t}`, '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:',
        '-T', big, `${ours}/upload?name=upload.bin&sha256=${expected}`], { timeout: 600_000, maxBuffer: 1 << 20 });
      ups.push(mb / ((performance.now() - t0) / 1000));
      const info = JSON.parse(stdout) as { sha256: string };
      if (info.sha256 !== expected) throw new Error(`upload stored ${info.sha256}, sha256sum says ${expected}`);
    }
    const leftovers = await readdir(join(storeDir, 'tmp'));
    stopping = true;
    const ratio = med(ups) / med(sums);
    console.log(`\nupload ${UPLOAD_MIB} MiB (curl -X POST -T file, fsync + commit included), ${ROUNDS} rounds, medians:`);
    console.log(`  sha256sum ${f(med(sums))} MB/s   upload ${f(med(ups))} MB/s   ratio ${ratio.toFixed(2)}x   target >= 1x ${ratio >= 1 ? 'met' : 'NOT met'}   (temp files left: ${leftovers.length})`);
  } catch (err) {
    for (const c of children) console.error(`--- output of ${c.proc.spawnargs.slice(0, 3).join(' ')}:\n${c.output().slice(-4000)}`);
    throw err;
  } finally {
    await cleanup();
  }
}

await main();
