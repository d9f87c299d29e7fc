// Isolation (`"isolation": "worker"` and `"process"`): each incarnation of the module runs in its
// own worker thread or child process; calls through dependencies cross as RPC both ways, uncloneable values are refused with
// a typed error, a stuck start or a heap hog ends only its own worker, the node and the other
// modules keep serving, a reload keeps what was handed over, and the worker's log reaches the
// instance's log.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { pidAlive } from '../../base/pid.ts';
import { parseNodeConfig } from '../../core/config/node-config.ts';
import { readDescriptor } from '../../core/descriptor.ts';
import { runtimeFile } from '../../core/isolation/worker-code.ts';
import { BAG, bag, inst, resetBag, scope, until } from '../helpers/extra.ts';

const S = suite('isolation');
const t = scope();
S.after.each(() => t.cleanup());

type Svc = Record<string, (...a: unknown[]) => Promise<any>>;
const service = (th: Parameters<typeof inst>[0], id: string) => inst(th, id).run!.service as Svc;
const MODES = ['worker', 'process'] as const;

S('descriptor: isolation defaults to none, "worker" and "process" are taken, resourceLimits only with one of them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chs-iso-desc-'));
  try {
    const write = (cheshire: object) => writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'm', version: '1.0.0', cheshire }));
    await write({});
    assert.is(readDescriptor(dir).isolation, 'none');
    await write({ isolation: 'worker', resourceLimits: { maxOldGenerationSizeMb: 32 } });
    assert.equal([readDescriptor(dir).isolation, readDescriptor(dir).resourceLimits], ['worker', { maxOldGenerationSizeMb: 32 }]);
    await write({ isolation: 'process', resourceLimits: { maxOldGenerationSizeMb: 48 }, timeouts: { stallMs: 900, callMs: 2000 } });
    assert.equal([readDescriptor(dir).isolation, readDescriptor(dir).resourceLimits, readDescriptor(dir).timeouts], ['process', { maxOldGenerationSizeMb: 48 }, { startMs: 10_000, stopMs: 5_000, stallMs: 900, callMs: 2000 }]);
    await write({ resourceLimits: { maxOldGenerationSizeMb: 32 } });
    assert.throws(() => readDescriptor(dir), /only with "isolation": "worker" or "process"/);
    await write({ isolation: 'thread' });
    assert.throws(() => readDescriptor(dir), (e: Error & { code?: string }) => e.code === 'CHS_ERR_DESCRIPTOR_INVALID');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

S('a role or cheshire.json puts an unchanged module in its own process or worker (per instance); a bad override is refused', async () => {
  const src = `import { threadId } from 'node:worker_threads';
export function start(ctx: any) { return { where: () => ({ pid: process.pid, thread: threadId, id: ctx.id }) }; }`;
  const project = await t.project({
    modules: {
      heavy: { cheshire: { provides: ['heavy'] }, index: src },
      // Its top level must never run in the host: every instance of it is put in a process.
      untrusted: { cheshire: {}, index: `${BAG}bag.untrustedTop = (bag.untrustedTop ?? 0) + 1;\nexport function start(ctx: any) { return { pid: () => process.pid, top: () => bag.untrustedTop }; }` },
    },
    role: ['heavy', 'heavy#b', 'heavy#c', 'untrusted'],
    // cheshire.json: heavy in a process (with a heap limit); the role (below): heavy#b in a worker.
    config: { isolation: { heavy: { mode: 'process', resourceLimits: { maxOldGenerationSizeMb: 64 }, stallMs: 2000 }, untrusted: 'process' } },
  });
  await project.write('config/roles/test.json', JSON.stringify({ modules: ['heavy', 'heavy#b', 'heavy#c', 'untrusted'], isolation: { 'heavy#b': 'worker', heavy: 'worker' } }));
  resetBag();
  const th = await t.host(project, { watch: false });
  const a = await service(th, 'heavy').where!();
  const b = await service(th, 'heavy#b').where!();
  const c = (inst(th, 'heavy#c').run!.service as { where(): { pid: number; thread: number } }).where();
  assert.ok(a.pid !== process.pid && a.thread === 0, `cheshire.json's "process" wins over the role's "worker": ${JSON.stringify(a)}`);
  assert.ok(b.pid === process.pid && b.thread > 0, `the role's "worker": ${JSON.stringify(b)}`);
  assert.equal([c.pid, c.thread], [process.pid, 0], 'no override: in the host, as the descriptor says');
  assert.is(a.id, 'heavy');
  const untrusted = () => service(th, 'untrusted');
  assert.is.not(await untrusted().pid!(), process.pid);
  assert.is(await untrusted().top!(), 1, 'its top level ran once, in its process');
  await th.host.reload('untrusted');
  assert.is(await untrusted().top!(), 1, 'and once in the new process after a reload');
  assert.is(bag().untrustedTop, undefined, 'never in the host, at start or at reload');

  assert.throws(() => parseNodeConfig({ isolation: { heavy: 'thread' } }, 'x.json'), (e: Error & { code?: string }) => e.code === 'CHS_ERR_CONFIG_INVALID' && /isolation/.test(e.message));
  assert.equal(parseNodeConfig({ isolation: { heavy: 'process' } }, 'x.json').isolation, { heavy: 'process' });
});

S('an isolate process ends when its host dies (its IPC pipe closes)', async () => {
  // A stand-in host: forks the runtime, prints the child's pid, and is then SIGKILLed.
  const file = await runtimeFile();
  const script = `const { fork } = require('node:child_process'); const c = fork(${JSON.stringify(file)}, [], { serialization: 'advanced', stdio: ['ignore', 'ignore', 'ignore', 'ipc'] }); console.log(c.pid); setInterval(() => {}, 1000);`;
  const host = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let childPid = 0;
  try {
    childPid = await until('the stand-in host to fork', () => new Promise<number>((resolve) => host.stdout!.once('data', (b: Buffer) => resolve(Number(String(b).trim())))), 10_000);
    assert.ok(pidAlive(childPid), 'the isolate process runs');
    host.kill('SIGKILL');
    await until('the isolate process to end with its host', () => !pidAlive(childPid), 10_000);
  } finally {
    host.kill('SIGKILL');
    if (childPid && pidAlive(childPid)) process.kill(childPid, 'SIGKILL');
  }
});

for (const mode of MODES) {
  S(`${mode}: service calls cross both ways; a function argument is refused with CHS_ERR_ISOLATION_CLONE; logs reach the instance`, async () => {
    const project = await t.project({
      modules: {
        // An isolated provider, used by an in-process module (static).
        calc: {
          cheshire: { isolation: mode, provides: ['calc'] },
          index: `import { threadId } from 'node:worker_threads';
  export function start(ctx: any) {
    ctx.log.info({ k: 1 }, 'calc up in thread ' + threadId);
    ctx.log.warn(new Error('a logged error'));
    return {
      add: (a: number, b: number) => a + b,
      thread: () => threadId,
      pid: () => process.pid,
      apply: (f: unknown) => typeof f,
      handle: () => ({ f() {} }),
      async slow(ms: number) { await new Promise((r) => setTimeout(r, ms)); return 'slow ' + ms; },
    };
  }` },
        user: {
          cheshire: { provides: ['user'], requires: [{ service: 'calc' }] },
          index: `export function start(ctx: any) { return { sum: (a: number, b: number) => ctx.deps.calc.add(a, b) }; }`,
        },
        // An in-process provider, used by an isolated module (dynamic).
        plain: {
          cheshire: { provides: ['plain'] },
          index: `export function start() { return { twice: (n: number) => n * 2, call: (f: unknown) => typeof f }; }`,
        },
        iso: {
          cheshire: { isolation: mode, provides: ['iso'], requires: [{ service: 'plain', policy: 'dynamic' }] },
          index: `export async function start(ctx: any) {
    const first = await ctx.deps.plain.twice(21);
    let refused = '';
    try { await ctx.deps.plain.call(() => 1); } catch (err: any) { refused = err.code + ' ' + err.message; }
    return {
      first: () => first,
      refused: () => refused,
      twice: (n: number) => ctx.deps.plain.twice(n),
      available: () => ctx.deps.plain.$available,
      host: async () => (await ctx.host.status()).instances.map((i: any) => i.id),
      mount: () => { try { ctx.mount('/x', {}); return 'mounted'; } catch (err: any) { return err.code + ' ' + err.message; } },
    };
  }`,
        },
      },
      role: ['calc', 'user', 'plain', 'iso'],
    });
    const th = await t.host(project, { watch: false });
    assert.is(await service(th, 'user').sum!(2, 3), 5, 'in-process -> isolated');
    const calc = service(th, 'calc');
    if (mode === 'worker') assert.ok((await calc.thread!()) > 0, 'calc runs in a worker thread');
    else assert.ok((await calc.thread!()) === 0 && (await calc.pid!()) !== process.pid, 'calc runs in a child process');
    assert.is(await calc.slow!(20), 'slow 20');
    const iso = service(th, 'iso');
    assert.is(await iso.first!(), 42, 'isolated -> in-process, during start');
    assert.is(await iso.twice!(5), 10);
    assert.is(await iso.available!(), true);
    assert.match(await iso.refused!(), /^CHS_ERR_ISOLATION_CLONE .*plain\.call.*a function at argument\[0\]/, 'a function argument is refused in the worker');
    assert.equal((await iso.host!()).sort(), ['calc', 'iso', 'plain', 'user'], 'ctx.host.status() is forwarded');
    assert.match(await iso.mount!(), /^CHS_ERR_MOUNT_INVALID .*ctx\.mount\("\/x"\): the tree is not a file tree node/, 'ctx.mount of something that is not a tree is refused, naming it');
    try {
      await calc.apply!(() => 1);
      assert.unreachable('a function argument must be refused');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CHS_ERR_ISOLATION_CLONE');
      assert.match((err as Error).message, /calc\.apply/);
    }
    try {
      await calc.handle!();
      assert.unreachable('an uncloneable result must be refused');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CHS_ERR_ISOLATION_CLONE');
      assert.match((err as Error).message, /calc\.handle.*a function at result\.f/);
    }
    const logs = th.logs.filter((r) => r.module === 'calc');
    const up = logs.find((r) => /^calc up in thread \d+$/.test(r.msg));
    assert.ok(up, `the worker's log line is in the instance's log: ${JSON.stringify(logs.map((r) => r.msg))}`);
    assert.is(up!.k, 1, 'with its fields');
    const logged = logs.find((r) => r.msg === 'a logged error');
    assert.ok(logged?.err?.stack?.includes('modules/calc/index.ts'), 'a logged error keeps its source-mapped stack');
  });

  S(`${mode}: dynamic bind/unbind notices reach the isolate; console output of the isolate reaches the instance log`, async () => {
    const project = await t.project({
      modules: {
        plain: { cheshire: { provides: ['plain'] }, index: `export function start() { return { twice: (n: number) => n * 2 }; }` },
        watcher: {
          cheshire: { isolation: mode, provides: ['watcher'], requires: [{ service: 'plain', policy: 'dynamic' }] },
          index: `export function start(ctx: any) {
  const seen: string[] = [];
  ctx.onBind('plain', () => seen.push('bind'));
  ctx.onUnbind('plain', () => seen.push('unbind'));
  console.log('watcher says hi on stdout');
  return { seen: () => seen, available: () => ctx.deps.plain.$available, twice: (n: number) => ctx.deps.plain.twice(n) };
}`,
        },
      },
      role: ['plain', 'watcher'],
    });
    const th = await t.host(project, { watch: false });
    const w = service(th, 'watcher');
    assert.is(await w.twice!(4), 8);
    await th.host.stopInstance('plain');
    await until('the unbind notice in the isolate', async () => (await w.available!()) === false && (await w.seen!()).includes('unbind'), 5_000);
    try {
      await w.twice!(1);
      assert.unreachable('no provider: the call must fail');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CHS_ERR_DEP_UNAVAILABLE');
    }
    await th.host.startInstance('plain');
    await until('the bind notice in the isolate', async () => (await w.available!()) === true, 5_000);
    assert.equal(await w.seen!(), ['unbind', 'bind']);
    assert.is(await w.twice!(5), 10);
    assert.is(inst(th, 'watcher').restarts, 0, 'the isolated dependent kept running');
    await until('the isolate\'s stdout line in the instance log', () => th.messages('watcher').includes('watcher says hi on stdout'), 5_000);
  });

  S(`${mode}: a while(true) in start times out at startMs, backs off, then fails; the node and another module keep serving`, async () => {
    const project = await t.project({
      modules: {
        spin: { cheshire: { isolation: mode, timeouts: { startMs: 300, stopMs: 300 } }, index: `export function start() { for (;;) {} }` },
        ok: { cheshire: { provides: ['ok'] }, index: `export function start() { return { ping: () => 'pong' }; }` },
      },
      role: ['ok', 'spin'],
    });
    const th = await t.host(project, { watch: false });
    const spin = await until('spin to be given up on', () => inst(th, 'spin').state === 'failed' && inst(th, 'spin'), 15_000);
    assert.is(spin.lastError?.code, 'CHS_ERR_MODULE_FAILED');
    assert.match(spin.lastError!.message, /CHS_ERR_START_TIMEOUT/);
    assert.is(spin.restarts, 3, 'backoff restarts before failed');
    assert.ok(th.messages('spin').some((m) => /restarting in \d+ ms/.test(m)), 'backoff logged');
    assert.is(th.host.failsafe, null, 'node alive');
    assert.is(await service(th, 'ok').ping!(), 'pong', 'another module answers');
    assert.is(inst(th, 'ok').restarts, 0);
  });

  S(`${mode}: a heap hog over its maxOldGenerationSizeMb crashes only itself (CHS_ERR_ISOLATION_LIMIT); a rejection too`, async () => {
    const project = await t.project({
      modules: {
        hog: {
          cheshire: { isolation: mode, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 8 } },
          index: `export function start() {
    return {
      hog() { setTimeout(() => { const keep: unknown[] = []; for (;;) keep.push({ a: new Array(1000).fill(keep.length) }); }, 1); return 'hogging'; },
      reject() { setTimeout(() => { Promise.reject(new Error('late rejection')); }, 1); return 'soon'; },
      ping: () => 'pong',
    };
  }`,
        },
        ok: { cheshire: { provides: ['ok'] }, index: `export function start() { return { ping: () => 'pong' }; }` },
      },
      role: ['ok', 'hog'],
    });
    const th = await t.host(project, { watch: false });
    const first = inst(th, 'hog').run;
    assert.is(await service(th, 'hog').hog!(), 'hogging');
    const hog = await until('hog to crash and come back', () => {
      const i = inst(th, 'hog');
      return i.restarts >= 1 && i.state === 'active' && i.run !== first && i;
    }, 20_000);
    assert.is(hog.lastError?.code, 'CHS_ERR_ISOLATION_LIMIT', hog.lastError?.message);
    assert.is(await service(th, 'hog').ping!(), 'pong', 'the new worker serves');
    assert.is(th.host.failsafe, null, 'node alive');
    assert.is(await service(th, 'ok').ping!(), 'pong');

    const second = inst(th, 'hog').run;
    await service(th, 'hog').reject!();
    const again = await until('hog to restart after the rejection', () => {
      const i = inst(th, 'hog');
      return i.restarts >= 2 && i.state === 'active' && i.run !== second && i;
    }, 10_000);
    assert.match(again.lastError!.message, /late rejection/);
    assert.match(again.lastError!.stack, /modules[\\/]hog[\\/]index\.ts/, 'the stack names the module file');
    assert.is(inst(th, 'ok').restarts, 0, 'the other module never restarted');
  });

  S(`${mode}: a reload of an isolated module starts a new worker and keeps the handed-over state`, async () => {
    const src = (tag: string) => `import { threadId } from 'node:worker_threads';
  export function start(ctx: any) {
    const prev = ctx.takeOver('state') as { starts: number; hits: number } | undefined;
    const state = ctx.handOver('state', { starts: (prev?.starts ?? 0) + 1, hits: prev?.hits ?? 0 }, () => {});
    ctx.log.info('${tag} started');
    return { bump: () => ++state.hits, get: () => ({ ...state, tag: '${tag}', thread: threadId + ':' + process.pid }) };
  }`;
    const project = await t.project({ modules: { counter: { cheshire: { isolation: mode }, index: src('v1') } }, role: ['counter'] });
    const th = await t.host(project);
    const v1 = await service(th, 'counter').get!();
    assert.equal([v1.tag, v1.starts, v1.hits], ['v1', 1, 0]);
    await service(th, 'counter').bump!();
    await service(th, 'counter').bump!();
    await project.write('modules/counter/index.ts', src('v2'));
    const v2 = await until('the saved version to serve', async () => {
      const s = await service(th, 'counter').get!().catch(() => null);
      return s?.tag === 'v2' && s;
    }, 10_000);
    assert.is(v2.starts, 2, 'takeOver got the previous value');
    assert.is(v2.hits, 2, 'with the changes made after handOver (copied when the worker stopped)');
    assert.is.not(v2.thread, v1.thread, 'a new isolate per incarnation');
    assert.ok(th.messages('counter').some((m) => /counter reloaded v1\.0\.0/.test(m)));
    assert.ok(th.messages('counter').includes('v2 started'));
  });

  S(`${mode}: a worker stuck after start is terminated at stopMs on stop; its proxy then fails with CHS_ERR_DEP_UNAVAILABLE`, async () => {
    const project = await t.project({
      modules: {
        stuck: {
          cheshire: { isolation: mode, timeouts: { startMs: 2000, stopMs: 400 } },
          index: `export function start(ctx: any) {
    ctx.onStop(() => { ctx.log.info('never reached'); });
    return { spin() { setTimeout(() => { ctx.log.info('spinning now'); for (;;) {} }, 1); return 'spinning'; } };
  }`,
        },
        ok: { cheshire: { provides: ['ok'] }, index: `export function start() { return { ping: () => 'pong' }; }` },
      },
      role: ['ok', 'stuck'],
    });
    const th = await t.host(project, { watch: false });
    const svc = service(th, 'stuck');
    assert.is(await svc.spin!(), 'spinning');
    // Posted just before the loop: once it is in the log, the worker's thread is stuck.
    await until('the worker to be stuck', () => th.messages('stuck').includes('spinning now'));
    const t0 = Date.now();
    await th.host.stopInstance('stuck');
    const took = Date.now() - t0;
    assert.is(inst(th, 'stuck').state, 'stopped');
    assert.ok(took < 2_000, `stop is bounded by stopMs (took ${took} ms)`);
    assert.match(inst(th, 'stuck').lastError?.message ?? '', /did not finish its teardown within 400 ms and was (terminated|killed)/);
    try {
      await svc.spin!();
      assert.unreachable('the terminated worker cannot answer');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CHS_ERR_DEP_UNAVAILABLE');
    }
    assert.is(await service(th, 'ok').ping!(), 'pong');
    assert.is(th.host.failsafe, null);
  });
}

S.run();
