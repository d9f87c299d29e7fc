// A stall after start inside an isolated module (worker and process): the host's heartbeat goes
// unanswered, the isolate is ended within stallMs, the stall is recorded (CHS_ERR_ISOLATION_STALL
// naming the module and how long) and counted as a crash (restart with backoff), a call in flight
// to it fails with that code naming service.member, and another module's HTTP keeps answering
// throughout. A call that never answers fails at callMs (CHS_ERR_ISOLATION_CALL_TIMEOUT).
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inst, scope, until } from '../helpers/extra.ts';

const S = suite('isolation-stall');
const t = scope();
S.after.each(() => t.cleanup());

type Svc = Record<string, (...a: unknown[]) => Promise<any>>;

function get(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
  });
}

const web = {
  cheshire: { provides: ['web'] },
  index: `import { serveHttp } from 'cheshire/sdk';
export async function start(ctx: any) {
  const server = await serveHttp(ctx, '127.0.0.1', 0, (_req, res) => { res.end('ok'); });
  return { port: () => (server.address() as { port: number }).port };
}`,
};

for (const mode of ['worker', 'process'] as const) {
  S(`${mode}: while(true) in a timer after start: ended at stallMs, recorded, restarted; another module's HTTP keeps answering`, async () => {
    const project = await t.project({
      modules: {
        spin: {
          cheshire: { isolation: mode, provides: ['spin'], timeouts: { startMs: 5000, stopMs: 500, stallMs: 600 } },
          index: `export function start(ctx: any) {
  return {
    spin() { setTimeout(() => { ctx.log.info('spinning now'); for (;;) {} }, 1); return 'spinning'; },
    later: (ms: number) => new Promise((r) => setTimeout(() => r('late'), ms)),
    ping: () => 'pong',
  };
}`,
        },
        web,
      },
      role: ['web', 'spin'],
    });
    const th = await t.host(project, { watch: false });
    const port = (inst(th, 'web').run!.service as { port(): number }).port();
    const first = inst(th, 'spin').run;
    const svc = inst(th, 'spin').run!.service as Svc;
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const client = (async () => {
      while (running) {
        try {
          if ((await get(port)) === 200) ok++;
          else failures.push('status');
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    })();
    try {
      const inFlight = svc.later!(30_000).then(() => null, (err: Error & { code?: string }) => err);
      const t0 = Date.now();
      assert.is(await svc.spin!(), 'spinning');
      const again = await until('spin to be ended and restarted', () => {
        const i = inst(th, 'spin');
        return i.state === 'active' && i.run !== first && i;
      }, 10_000);
      const took = Date.now() - t0;
      assert.is(again.lastError?.code, 'CHS_ERR_ISOLATION_STALL', again.lastError?.message);
      assert.match(again.lastError!.message, new RegExp(`^CHS_ERR_ISOLATION_STALL: spin: its ${mode} did not answer the host's heartbeat for \\d+ ms \\(stallMs 600\\)`));
      assert.ok(took < 5_000, `ended within a few stall thresholds (${took} ms)`);
      assert.ok(again.restarts >= 1, 'counted as a crash (supervision restarted it)');
      const err = await inFlight;
      assert.is(err?.code, 'CHS_ERR_ISOLATION_STALL', 'the call in flight fails with the stall');
      assert.match(err!.message, /^spin\.later: /, 'naming service.member');
      assert.is(await (inst(th, 'spin').run!.service as Svc).ping!(), 'pong', 'the new isolate serves');
      const seen = ok;
      await until('web to answer after the stall', () => ok > seen, 5_000);
    } finally {
      running = false;
      await client;
    }
    assert.equal(failures, [], `the other module answered every request (${ok})`);
    assert.ok(ok > 0);
    assert.is(inst(th, 'web').restarts, 0);
    assert.is(th.host.failsafe, null);
  });
}

S('a call that never answers fails at callMs with CHS_ERR_ISOLATION_CALL_TIMEOUT naming service.member', async () => {
  const project = await t.project({
    modules: {
      hang: {
        cheshire: { isolation: 'worker', provides: ['hang'], timeouts: { callMs: 300 } },
        index: `export function start() { return { never: () => new Promise(() => {}), quick: () => 1 }; }`,
      },
    },
    role: ['hang'],
  });
  const th = await t.host(project, { watch: false });
  const svc = inst(th, 'hang').run!.service as Svc;
  const t0 = Date.now();
  const err = await svc.never!().then(() => null, (e: Error & { code?: string }) => e);
  assert.is(err?.code, 'CHS_ERR_ISOLATION_CALL_TIMEOUT');
  assert.match(err!.message, /hang\.never did not answer within 300 ms/);
  assert.ok(Date.now() - t0 < 3_000);
  assert.is(await svc.quick!(), 1, 'the isolate itself is fine');
  assert.is(inst(th, 'hang').restarts, 0);
});

S('the host\'s own loop held up (by an in-process module) is not taken for a stall of a healthy isolate', async () => {
  const project = await t.project({
    modules: {
      calm: {
        cheshire: { isolation: 'worker', provides: ['calm'], timeouts: { stallMs: 400 } },
        index: `export function start() { return { ping: () => 'pong' }; }`,
      },
      blocker: {
        cheshire: { provides: ['blocker'] },
        index: `export function start() { return { block(ms: number) { const end = Date.now() + ms; while (Date.now() < end) {} return ms; } }; }`,
      },
    },
    role: ['calm', 'blocker'],
  });
  const th = await t.host(project, { watch: false });
  const calm = inst(th, 'calm').run;
  // Let the heartbeat run a few rounds, then hold the host's loop for 3 stall thresholds.
  await new Promise((r) => setTimeout(r, 300));
  (inst(th, 'blocker').run!.service as { block(ms: number): number }).block(1_200);
  await new Promise((r) => setTimeout(r, 600));
  assert.is(inst(th, 'calm').run, calm, 'the same incarnation: not ended');
  assert.is(inst(th, 'calm').restarts, 0);
  assert.is(await (inst(th, 'calm').run!.service as Svc).ping!(), 'pong');
  assert.not.ok(th.messages('calm').some((m) => /heartbeat/.test(m)), 'no stall recorded');
});

S.run();
