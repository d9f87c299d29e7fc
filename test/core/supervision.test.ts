// Supervision: crashes in start, in timers, in promise chains and in request handlers are
// attributed to their module and restarted with backoff (then given up on); start and teardown
// run under deadlines; everything an instance registered is released in reverse order on stop.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeAgent, get, waitFor } from '../helpers/project.ts';
import { BAG, bag, inst, plain, resetBag, scope, sleep, until } from '../helpers/extra.ts';

const S = suite('supervision');
const t = scope();

S.before.each(() => resetBag());
S.after.each(() => t.cleanup());
S.after(() => closeAgent());

/** Index source whose start runs `body` on each attempt; `n` counts the attempts (kept in bag[key]). */
const counted = (key: string, body: string, imports = '') => `${imports}
${BAG}
export async function start(ctx: any) {
  const n = (bag.${key} = (bag.${key} ?? 0) + 1);
  ${body}
  return { n };
}
`;

S('a start that throws is restarted with growing backoff, then given up on; a sibling is untouched', async () => {
  const project = await t.project({
    modules: {
      bad: { index: counted('badStarts', `throw new Error('bad start ' + n);`) },
      ok: { index: `${BAG}export function start(ctx: any) { ctx.onStop(() => { bag.okStopped = true; }); return {}; }` },
    },
    role: ['bad', 'ok'],
  });
  const th = await t.host(project);
  const okRun = inst(th, 'ok').run;
  assert.ok(okRun, 'ok is running');

  const bad = await until('bad to be given up on', () => inst(th, 'bad').state === 'failed' && inst(th, 'bad'));
  assert.is(bad.restarts, 3, 'restarted maxRestarts (3) times');
  assert.is(bag().badStarts, 4, 'started once plus 3 restarts');
  assert.is(bad.lastError?.code, 'CHS_ERR_MODULE_FAILED');
  assert.match(bad.lastError!.message, /\bbad\b crashed 4 times/);
  assert.match(bad.lastError!.message, /bad start 4/, 'names the last error');
  assert.match(bad.lastError!.stack, /bad start 4/);
  const delays = th.messages('bad').flatMap((m) => /restarting in (\d+) ms/.exec(m)?.[1] ?? []).map(Number);
  assert.equal(delays, [20, 40, 80], 'exponential backoff from supervisor.backoffMs');

  assert.is(th.host.failsafe, null, 'host stays up');
  const ok = inst(th, 'ok');
  assert.is(ok.state, 'active');
  assert.ok(ok.run === okRun, 'sibling keeps its run object');
  assert.is(ok.restarts, 0);
  assert.not.ok(bag().okStopped, 'sibling was never stopped');
});

S('a throw in a setTimeout callback scheduled in start restarts the instance, host survives', async () => {
  const project = await t.project({
    modules: {
      ticker: {
        index: counted('tickerStarts', `if (n === 1) setTimeout(() => { throw new Error('timer boom'); }, 10);`),
      },
    },
    role: ['ticker'],
  });
  const th = await t.host(project);
  const first = inst(th, 'ticker').run;
  const ticker = await until('ticker to be restarted and active', () => {
    const i = inst(th, 'ticker');
    return i.restarts >= 1 && i.state === 'active' && i.run !== first && i;
  });
  assert.is(bag().tickerStarts, 2);
  assert.ok(ticker.lastError, 'lastError set');
  assert.match(ticker.lastError!.message, 'timer boom');
  assert.match(ticker.lastError!.stack, /timer boom/);
  assert.match(ticker.lastError!.stack, /modules[\\/]ticker[\\/]index\.ts/, 'stack points into the module');
  assert.is(th.host.failsafe, null);
  assert.is(th.host.status().instances[0]!.state, 'active', 'host still answers');
});

S('an unhandled rejection from a module callback is attributed to that module and restarted', async () => {
  const project = await t.project({
    modules: {
      rejecter: {
        index: counted('rejStarts', `if (n === 1) setTimeout(() => Promise.reject(new Error('rejected boom')), 10);`),
      },
      bystander: { index: plain },
    },
    role: ['rejecter', 'bystander'],
  });
  const th = await t.host(project);
  const first = inst(th, 'rejecter').run;
  const bystanderRun = inst(th, 'bystander').run;
  const rej = await until('rejecter to be restarted and active', () => {
    const i = inst(th, 'rejecter');
    return i.restarts >= 1 && i.state === 'active' && i.run !== first && i;
  });
  assert.match(rej.lastError!.message, 'rejected boom');
  assert.match(rej.lastError!.stack, /modules[\\/]rejecter[\\/]index\.ts/);
  const by = inst(th, 'bystander');
  assert.ok(by.run === bystanderRun, 'bystander keeps its run');
  assert.is(by.restarts, 0);
  assert.is(by.lastError, null);
});

S('a throw in an http request handler is attributed to the module and restarted', async () => {
  const project = await t.project({
    modules: {
      web: {
        index: counted('webStarts', `
  const server = ctx.own(http.createServer((req, res) => {
    if (req.url === '/boom') throw new Error('handler boom');
    res.end('ok ' + n);
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as any).port };`, `import http from 'node:http';`),
      },
      bystander: { index: plain },
    },
    role: ['web', 'bystander'],
  });
  const th = await t.host(project);
  const first = inst(th, 'web').run!;
  const bystanderRun = inst(th, 'bystander').run;
  const port1 = (first.service as { port: number }).port;
  assert.is((await get(`http://127.0.0.1:${port1}/`)).body, 'ok 1');

  // The request that throws gets no answer (its connection goes with the crashed server).
  await get(`http://127.0.0.1:${port1}/boom`, 2_000).then(
    (r) => assert.unreachable(`/boom answered ${r.status}`),
    () => {},
  );
  const web = await until('web to be restarted and active', () => {
    const i = inst(th, 'web');
    return i.restarts >= 1 && i.state === 'active' && i.run !== first && i;
  });
  assert.match(web.lastError!.message, 'handler boom');
  assert.match(web.lastError!.stack, /modules[\\/]web[\\/]index\.ts/);
  const port2 = (web.run!.service as { port: number }).port;
  assert.is((await get(`http://127.0.0.1:${port2}/`)).body, 'ok 2');
  assert.ok(inst(th, 'bystander').run === bystanderRun, 'bystander keeps its run');
  assert.is(inst(th, 'bystander').restarts, 0);
});

S('a start that never settles fails with CHS_ERR_START_TIMEOUT and its signal is aborted', async () => {
  const project = await t.project({
    modules: {
      slow: {
        cheshire: { timeouts: { startMs: 200 } },
        index: `${BAG}export function start(ctx: any) { (bag.signals ??= []).push(ctx.signal); return new Promise(() => {}); }`,
      },
      ok: { index: plain },
    },
    role: ['slow', 'ok'],
  });
  const th = await t.host(project);
  const err = await until('the start timeout to be recorded', () => {
    const e = inst(th, 'slow').lastError;
    return e?.code === 'CHS_ERR_START_TIMEOUT' && e;
  });
  assert.match(err.message, /\bslow\b/, 'names the instance');
  assert.match(err.message, /200 ms/);
  const signal = (bag().signals as AbortSignal[])[0]!;
  assert.ok(signal.aborted, 'ctx.signal of the timed-out start is aborted');
  assert.is((signal.reason as { code?: string }).code, 'CHS_ERR_START_TIMEOUT');
  assert.is(inst(th, 'ok').state, 'active');
  assert.is(th.host.failsafe, null);
});

S('a teardown that hangs reports CHS_ERR_STOP_TIMEOUT and the host carries on', async () => {
  const project = await t.project({
    modules: {
      stuck: {
        cheshire: { timeouts: { stopMs: 200 } },
        index: `export function start(ctx: any) { ctx.onStop(() => new Promise(() => {})); return {}; }`,
      },
      ok: { index: plain },
    },
    role: ['stuck', 'ok'],
  });
  const th = await t.host(project);
  const okRun = inst(th, 'ok').run;
  await th.host.stopInstance('stuck');
  const stuck = inst(th, 'stuck');
  assert.is(stuck.state, 'stopped');
  assert.is(stuck.lastError?.code, 'CHS_ERR_STOP_TIMEOUT');
  assert.match(stuck.lastError!.message, /\bstuck\b/, 'names the module');
  assert.ok(th.messages('stuck').some((m) => m.includes('CHS_ERR_STOP_TIMEOUT')), 'logged');
  assert.ok(inst(th, 'ok').run === okRun && inst(th, 'ok').state === 'active', 'sibling untouched');
  await th.host.startInstance('stuck');
  assert.is(inst(th, 'stuck').state, 'active', 'host still starts instances');
});

S('resources registered via ctx are released in reverse order; intervals stop with the instance', async () => {
  const project = await t.project({
    modules: {
      res: {
        index: `${BAG}
import http from 'node:http';
export async function start(ctx: any) {
  const order: string[] = (bag.order = []);
  bag.ticks = 0;
  const server = http.createServer((_req, res) => res.end('up'));
  ctx.onStop(() => { order.push('first onStop, server listening: ' + server.listening); });
  ctx.own(server);
  ctx.own({ close() { order.push('owned closer'); } });
  ctx.onStop(async () => { await Promise.resolve(); order.push('last onStop, server listening: ' + server.listening); });
  setInterval(() => { bag.ticks++; }, 5);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as any).port };
}
`,
      },
    },
    role: ['res'],
  });
  const th = await t.host(project);
  const port = (inst(th, 'res').run!.service as { port: number }).port;
  assert.is((await get(`http://127.0.0.1:${port}/`)).body, 'up');
  await waitFor('the interval to tick', () => bag().ticks >= 3);

  await th.host.stopInstance('res');
  assert.is(inst(th, 'res').state, 'stopped');
  assert.equal(bag().order, ['last onStop, server listening: true', 'owned closer', 'first onStop, server listening: false']);
  const ticks = bag().ticks;
  await sleep(100);
  assert.is(bag().ticks, ticks, 'the interval no longer fires');
  await get(`http://127.0.0.1:${port}/`, 1_000).then(
    () => assert.unreachable('the owned server still answers'),
    () => {},
  );
});

S.run();
