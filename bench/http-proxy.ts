// The proxy module against nginx `proxy_pass` (Debian's nginx, 1 worker, `upstream { keepalive
// 32; }`) in front of the same tiny node:http backend, and the backend hit directly (issue 6):
// wrk, 32 connections, 2 threads, DURATION seconds per run, ROUNDS rounds (direct, nginx, ours in
// turn); median requests/s and p99, the ratio of each proxy to direct, and ours to nginx (target:
// >= 0.8x nginx req/s).
// Usage: npx tsx bench/http-proxy.ts [DURATION=4] [ROUNDS=3] [BODY_BYTES=0]
// Needs nginx and wrk on PATH (Debian: apt-get install -y nginx wrk).
//
// The backend is a child process (`http.createServer((q, s) => s.end('hello world\n'))`, keep-alive
// on). Cheshire: a node started as a child process on a throw-away config (role: the proxy module
// only, a static route / -> the backend, file watching off). nginx: a temp prefix with its config,
// pid, logs and temp paths. Every process is stopped and the temp dir removed at the end, on an
// error and on Ctrl-C.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, intArg, REPO, sleep, spawnChild, startNode, stats, type Child } from './lib.ts';

const run = promisify(execFile);
const DURATION = intArg(0, 4, 1, 60);
const ROUNDS = intArg(1, 3, 1, 20);

interface WrkResult { rps: number; p99ms: number }

function parseWrk(out: string): WrkResult {
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  const p99ms = p ? Number(p[1]) * (p[2] === 'us' ? 0.001 : p[2] === 's' ? 1000 : 1) : NaN;
  return { rps, p99ms };
}

async function wrk(url: string): Promise<WrkResult> {
  const { stdout } = await run('wrk', ['-t2', '-c32', `-d${DURATION}s`, '--latency', '--timeout', '5s', url], { timeout: (DURATION + 30) * 1000 });
  if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`wrk saw errors from ${url}:\n${stdout}`);
  return parseWrk(stdout);
}

async function waitHttp(url: string, child: Child, want: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null) throw new Error(`exited before serving ${url}:\n${child.output()}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      const body = await r.text();
      if (r.status === 200 && body === want) return;
    } catch { /* not yet */ }
    if (Date.now() > end) throw new Error(`${url} not serving after ${timeoutMs} ms:\n${child.output()}`);
    await sleep(50);
  }
}

// BODY_BYTES (third argument, default 0): the backend answers that many bytes instead of the
// 12-byte hello (big responses exercise the body relay and its flow control).
const BODY_BYTES = intArg(2, 0, 0, 64 << 20);
const BODY = BODY_BYTES > 0 ? 'x'.repeat(BODY_BYTES) : 'hello world\n';
const BACKEND = `
const http = require('node:http');
const body = ${BODY_BYTES > 0 ? `Buffer.alloc(${BODY_BYTES}, 'x')` : "'hello world\\n'"};
const server = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain' }); res.end(body); });
server.keepAliveTimeout = 5000;
server.listen(Number(process.argv[1]), '127.0.0.1', () => console.log('backend up'));
`;

async function main(): Promise<void> {
  for (const tool of ['nginx', 'wrk']) {
    try { await run('sh', ['-c', `command -v ${tool}`]); } catch { throw new Error(`${tool} not found (Debian: apt-get install -y nginx wrk)`); }
  }
  const dir = await mkdtemp(join(tmpdir(), 'chs-bench-proxy-'));
  const children: Child[] = [];
  try {
    const [backendPort, nginxPort, proxyPort] = [await freePort(), await freePort(), await freePort()];
    const backend = spawnChild(process.execPath, ['-e', BACKEND, String(backendPort)], { cwd: dir });
    children.push(backend);

    await mkdir(join(dir, 'nginx'));
    const conf = join(dir, 'nginx', 'nginx.conf');
    await writeFile(conf, `
worker_processes 1;
daemon off;
pid ${join(dir, 'nginx', 'nginx.pid')};
error_log ${join(dir, 'nginx', 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'nginx')};
  proxy_temp_path ${join(dir, 'nginx')};
  fastcgi_temp_path ${join(dir, 'nginx')};
  uwsgi_temp_path ${join(dir, 'nginx')};
  scgi_temp_path ${join(dir, 'nginx')};
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 32; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}
`);
    const nginx = spawnChild('nginx', ['-c', conf, '-p', join(dir, 'nginx'), '-e', join(dir, 'nginx', 'error.log')], { cwd: dir });
    children.push(nginx);

    await mkdir(join(dir, 'node', 'config', 'roles'), { recursive: true });
    await writeFile(join(dir, 'node', 'config', 'roles', 'bench-proxy.json'), JSON.stringify({ modules: ['proxy'] }));
    const configFile = join(dir, 'node', 'cheshire.json');
    await writeFile(configFile, JSON.stringify({
      node: 'bench-proxy', role: 'bench-proxy', moduleDirs: [join(REPO, 'modules')], stateDir: join(dir, 'node', 'state'),
      watch: { enabled: false },
      modules: { proxy: { port: proxyPort, routes: [{ prefix: '/', nodes: [`http://127.0.0.1:${backendPort}`] }] } },
    }, null, 2));
    const node = startNode(configFile);
    children.push(node);

    const direct = `http://127.0.0.1:${backendPort}/`;
    const viaNginx = `http://127.0.0.1:${nginxPort}/`;
    const viaOurs = `http://127.0.0.1:${proxyPort}/`;
    await waitHttp(direct, backend, BODY);
    await waitHttp(viaNginx, nginx, BODY);
    await waitHttp(viaOurs, node, BODY);

    console.log(`wrk -t2 -c32 -d${DURATION}s --latency, ${ROUNDS} rounds (direct, nginx proxy_pass, Cheshire proxy in turn), medians; node ${process.version}`);
    await wrk(viaOurs); // warm-up: JIT and the upstream pool
    const rows = { direct: [] as WrkResult[], nginx: [] as WrkResult[], ours: [] as WrkResult[] };
    for (let r = 0; r < ROUNDS; r++) {
      rows.direct.push(await wrk(direct));
      rows.nginx.push(await wrk(viaNginx));
      rows.ours.push(await wrk(viaOurs));
      console.log(`  round ${r + 1}: direct ${rows.direct[r]!.rps.toFixed(0)}  nginx ${rows.nginx[r]!.rps.toFixed(0)}  ours ${rows.ours[r]!.rps.toFixed(0)} req/s  (ours/nginx ${(rows.ours[r]!.rps / rows.nginx[r]!.rps).toFixed(2)})`);
    }
    const med = (xs: WrkResult[]) => ({ rps: stats(xs.map((x) => x.rps)).median, p99ms: stats(xs.map((x) => x.p99ms)).median });
    const d = med(rows.direct), n = med(rows.nginx), o = med(rows.ours);
    console.log('');
    console.log(`${'path'.padEnd(30)} ${'req/s'.padStart(9)} ${'p99 ms'.padStart(8)} ${'x direct'.padStart(9)}`);
    const line = (label: string, x: { rps: number; p99ms: number }) =>
      console.log(`${label.padEnd(30)} ${x.rps.toFixed(0).padStart(9)} ${x.p99ms.toFixed(2).padStart(8)} ${(x.rps / d.rps).toFixed(2).padStart(9)}`);
    line('backend directly', d);
    line('nginx proxy_pass (keepalive)', n);
    line('Cheshire proxy', o);
    const ratio = o.rps / n.rps;
    // Back-to-back runs share the machine's load of the moment: the per-round ratio is steadier.
    const paired = stats(rows.ours.map((x, i) => x.rps / rows.nginx[i]!.rps)).median;
    console.log('');
    console.log(`Cheshire proxy / nginx proxy_pass: ${ratio.toFixed(2)}x req/s (medians), ${paired.toFixed(2)}x (median of per-round ratios)  (target >= 0.80x: ${paired >= 0.8 ? 'met' : 'NOT met'})`);
  } finally {
    for (const c of children.reverse()) await c.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
