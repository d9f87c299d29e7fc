// Isolated HTTP modules (worker and process): `import { serveHttp, httpRequests } from
// 'cheshire/sdk'` works in the isolate, the host keeps the listener and passes connections
// (a process gets the socket, a worker a relay of its bytes), and 50 reloads under continuous
// requests refuse or fail none of them.
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inst, scope, until } from '../helpers/extra.ts';
import { fdCount } from '../helpers/fds.ts';

const S = suite('isolation-http');
const t = scope();
S.after.each(() => t.cleanup());

const FIXTURE = join(import.meta.dirname, '../fixtures/isolated-http');
type Svc = Record<string, (...a: unknown[]) => Promise<any>>;

async function fixture(mode: 'worker' | 'process') {
  const pkg = JSON.parse(await readFile(join(FIXTURE, 'package.json'), 'utf8'));
  pkg.cheshire.isolation = mode;
  return { cheshire: pkg.cheshire, index: await readFile(join(FIXTURE, 'index.ts'), 'utf8') };
}

function get(port: number): Promise<{ status: number; body: string; isolate: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/x', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, isolate: String(res.headers['x-isolate']) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

/** POSTs `size` random bytes to /echo, reading the answer late; 'same' when it is byte for byte what was sent. */
function echo(port: number, size: number): Promise<string> {
  const body = randomBytes(size);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/echo', method: 'POST', agent: false, timeout: 20_000 }, (res) => {
      const hash = createHash('sha256');
      let n = 0;
      // A slow reader at first: the server's writes back up, and so (through it) the upload.
      res.pause();
      setTimeout(() => {
        res.on('data', (c: Buffer) => { n += c.length; hash.update(c); });
        res.resume();
      }, 400);
      res.on('end', () => resolve(n === size && hash.digest('hex') === createHash('sha256').update(body).digest('hex') ? 'same' : `got ${n} bytes`));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('echo timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

for (const mode of ['worker', 'process'] as const) {
  S(`${mode}: 50 reloads under continuous requests: 0 refused or failed, the port kept, metrics forwarded`, async () => {
    const project = await t.project({ modules: { web: await fixture(mode) }, role: ['web'] });
    const th = await t.host(project, { watch: false });
    const svc = () => inst(th, 'web').run!.service as Svc;
    const port = await svc().port!();
    assert.ok(port > 0);
    assert.is(await svc().typedError!(), 'CHS_ERR_DEP_UNAVAILABLE', 'cheshire/sdk value imports work in the isolate');
    const first = await get(port);
    assert.equal([first.status, first.body], [200, 'v1 /x\n']);
    if (mode === 'process') assert.is.not(first.isolate.split(':')[0], String(process.pid), 'answered by a child process');
    else assert.is(first.isolate.split(':')[0], String(process.pid), 'answered by a worker thread of this process');

    const echoed = await echo(port, 8 * 1024 * 1024);
    assert.is(echoed, 'same', '8 MiB echoed intact (flow control both ways)');

    const fdsBefore = fdCount();
    let ok = 0;
    const failures: string[] = [];
    const isolates = new Set<string>();
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const r = await get(port);
          if (r.status === 200 && r.body === 'v1 /x\n') {
            ok++;
            isolates.add(r.isolate);
          } else failures.push(`status ${r.status} ${r.body}`);
        } catch (err) {
          failures.push(`${(err as { code?: string }).code ?? ''} ${(err as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: 4 }, client);
    try {
      for (let i = 0; i < 50; i++) {
        const before = inst(th, 'web').run;
        await th.host.reload('web');
        assert.ok(inst(th, 'web').run !== before && inst(th, 'web').state === 'active', `reload ${i + 1} made a new incarnation`);
        const seen = ok;
        await until(`a request answered after reload ${i + 1}`, () => ok > seen, 10_000);
      }
    } finally {
      running = false;
      await Promise.all(clients);
    }
    assert.equal(failures, [], `no request refused or failed (${ok} answered)`);
    assert.ok(isolates.size >= 40, `answered by the successive isolates (${isolates.size} distinct)`);
    assert.is(await svc().port!(), port, 'the same port throughout');
    assert.is(inst(th, 'web').reloads, 50);
    const fdsAfter = await until('descriptors to settle', () => (fdCount() - fdsBefore < 20 ? fdCount() : 0), 5_000).catch(() => fdCount());
    assert.ok(fdsAfter - fdsBefore < 20, `no descriptors left behind by 50 incarnations (${fdsBefore} -> ${fdsAfter})`);
    const metrics = (await th.host.metrics()).text;
    assert.match(metrics, /cheshire_http_requests_total\{[^}]*module="web"[^}]*\} \d+/, 'ctx.metrics of the isolate reach the node registry');

    // A crash: the listener stays with the instance (kept through the backoff) and the restarted
    // incarnation answers on the same port.
    const before = inst(th, 'web').run;
    assert.is(await svc().crash!(), 'soon');
    await until('web to crash and come back', () => inst(th, 'web').run !== before && inst(th, 'web').state === 'active', 10_000);
    assert.match(inst(th, 'web').lastError?.message ?? '', /crashed on purpose/);
    assert.is((await get(port)).status, 200, 'the same port answers after the restart');
    // A final stop lets go of the port.
    await th.host.stopInstance('web');
    const refused = await get(port).then(() => 'answered', (err: Error & { code?: string }) => err.code);
    assert.is(refused, 'ECONNREFUSED', 'the port is released at a final stop');
  });
}

for (const mode of ['worker', 'process'] as const) {
  S(`${mode}: a reload whose new version fails before serveHttp keeps the port; the restored version answers on it`, async () => {
    const spec = await fixture(mode);
    const project = await t.project({ modules: { web: spec }, role: ['web'] });
    const th = await t.host(project, { watch: false });
    const port = await (inst(th, 'web').run!.service as Svc).port!();
    assert.is((await get(port)).status, 200);
    // The new version throws before it asks for its listener (the listener it was handed is the
    // host's, kept for the version restored after the failure).
    await project.writeAtomic('modules/web/index.ts', spec.index.replace('const http = httpRequests(ctx);', "throw new Error('v2 is broken'); const http = httpRequests(ctx);"));
    const err = await th.host.reload('web').then(() => null, (e: Error) => e);
    assert.ok(err, 'the reload failed');
    assert.match(err!.message, /v2 is broken/);
    await until('the previous version to be active again', () => inst(th, 'web').state === 'active', 10_000);
    const r = await get(port);
    assert.equal([r.status, r.body], [200, 'v1 /x\n'], 'the restored version answers on the same port');
    assert.is(await (inst(th, 'web').run!.service as Svc).port!(), port);
    // Fixed, the next reload takes the port over as usual.
    await project.writeAtomic('modules/web/index.ts', spec.index.replace("res.end(`${ctx.config.tag}", "res.end(`v2 ${ctx.config.tag}"));
    await th.host.reload('web');
    assert.equal((await get(port)).body, 'v2 v1 /x\n');
  });
}

S('a cheshire/sdk member the isolate lacks fails the start, naming it (CHS_ERR_ISOLATION_UNSUPPORTED)', async () => {
  const project = await t.project({
    modules: {
      server: {
        cheshire: { isolation: 'worker', timeouts: { startMs: 3000, stopMs: 500 } },
        index: `import { NineServer } from 'cheshire/sdk';\nexport function start() { return { s: NineServer } ; }`,
      },
    },
    role: ['server'],
  });
  const th = await t.host(project, { watch: false });
  const i = await until('server to fail', () => inst(th, 'server').lastError && inst(th, 'server'), 15_000);
  assert.match(i.lastError!.message, /cheshire\/sdk's NineServer is not available in an isolated \(worker\) module/);
});

S.run();
