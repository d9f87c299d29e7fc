// Warm spares of isolated modules (core/isolation/spares.ts), in worker and process mode, with
// real threads and processes:
// - once an isolated instance has started, one idle isolate of its shape waits; the next
//   incarnation (a reload) runs in that very thread / process (its threadId / pid, observed by
//   the module, is the idle spare's), gets the handed-over values, and a new spare follows;
// - a spare is never taken by another shape (other resourceLimits): the limits the module sees
//   are its own and the other shape's spare stays idle;
// - a spare killed while idle is replaced; closing the host ends every spare, leaving no thread
//   or child process behind;
// - `"spares": false` in the node's isolation override: no spare is ever made;
// - an idle spare does not keep its host's process alive, and a process spare ends with its host
//   (a stand-in host, test/fixtures/isolation-spares/lone-host.ts, run as its own process);
// - on the same reload path: an idle keep-alive connection to an isolated serveHttp does not hold
//   up its stop (fixture keepalive/).
// Fixture: test/fixtures/isolation-spares/where (reports pid, threadId, heap limit, a counter).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { childCount, threadCount } from '../helpers/fds.ts';
import http from 'node:http';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../base/free-port.ts';
import { pidAlive } from '../../base/pid.ts';
import { parseNodeConfig } from '../../core/config/node-config.ts';
import { preload, shapeKey, spares, type SpareInfo } from '../../core/isolation/spares.ts';
import { runtimeFile } from '../../core/isolation/worker-code.ts';
import { inst, scope, until } from '../helpers/extra.ts';
import { REPO, type TestHost } from '../helpers/project.ts';

const S = suite('isolation-spares');
const t = scope();
S.after.each(() => t.cleanup());

type Mode = 'worker' | 'process';
const MODES: Mode[] = ['worker', 'process'];
const WHERE = readFileSync(join(REPO, 'test/fixtures/isolation-spares/where/index.ts'), 'utf8');
interface Where { pid: number; thread: number; n: number; heapLimitMb: number }
const where = (th: TestHost, id: string) => (inst(th, id).run!.service as { where(): Promise<Where> }).where();
const LIMITED = { maxOldGenerationSizeMb: 96 };

/** The ready spare of `shape`, waited for (it starts in the background). */
const readySpare = (shape: string, not?: SpareInfo) =>
  until(`a ready spare of ${shape}`, () => spares().find((s) => s.shape === shape && s.ready && (!not || s.pid !== not.pid || s.threadId !== not.threadId)), 15_000);

const idOf = (mode: Mode, x: { pid: number | null; threadId?: number | null; thread?: number }) =>
  mode === 'process' ? x.pid : (x.threadId ?? x.thread);

function project(mode: Mode, override?: Record<string, unknown>) {
  return t.project({
    modules: { where: { cheshire: { isolation: mode }, index: WHERE } },
    role: ['where', 'where#limited'],
    // where#limited: the same code, another shape (a heap limit fixed when its isolate is spawned).
    config: { isolation: { 'where#limited': { mode, resourceLimits: LIMITED }, ...override } },
  });
}

for (const mode of MODES) {
  S(`${mode}: the next incarnation runs in the idle spare, gets the handed values, and a new spare follows; another shape's spare is not taken`, async () => {
    assert.equal(spares(), [], 'no spare before any host');
    const th = await t.host(await project(mode), { watch: false });
    const plain = shapeKey(mode, {});
    const limited = shapeKey(mode, LIMITED);
    assert.is.not(plain, limited);
    const spareA = await readySpare(plain);
    const spareB = await readySpare(limited);
    const first = await where(th, 'where');
    assert.is.not(idOf(mode, first), idOf(mode, spareA), 'the first incarnation was spawned (no spare yet)');
    assert.is(first.n, 1);

    await th.host.reload('where');
    const second = await where(th, 'where');
    assert.is(idOf(mode, second), idOf(mode, spareA), `the reloaded incarnation runs in the spare that was idle (${mode} ${idOf(mode, spareA)})`);
    if (mode === 'worker') assert.is(second.pid, process.pid);
    assert.is(second.n, 2, 'the handed value reached the incarnation in the spare');
    const next = await readySpare(plain, spareA);
    assert.is.not(idOf(mode, next), idOf(mode, spareA), 'a new spare follows');
    assert.ok(spares().some((s) => s.shape === limited && idOf(mode, s) === idOf(mode, spareB)), 'the other shape\'s spare is still idle: not taken');

    // The limited instance takes its own shape's spare, whose limits are its own.
    const limitedBefore = await where(th, 'where#limited');
    await th.host.reload('where#limited');
    const limitedAfter = await where(th, 'where#limited');
    assert.is(idOf(mode, limitedAfter), idOf(mode, spareB), 'where#limited runs in its own shape\'s spare');
    assert.is(limitedAfter.heapLimitMb, limitedBefore.heapLimitMb, 'with the same heap limit as when spawned');
    assert.ok(limitedAfter.heapLimitMb < (await where(th, 'where')).heapLimitMb, `the limit applies (${limitedAfter.heapLimitMb} MB vs ${(await where(th, 'where')).heapLimitMb} MB)`);
    assert.ok(spares().some((s) => s.shape === plain && idOf(mode, s) === idOf(mode, next)), 'and the plain shape\'s spare stays idle');
  });

  S(`${mode}: a spare killed while idle is replaced; closing the host ends every spare (no thread or child process left)`, async () => {
    await runtimeFile(); // the bundler's service process runs before the baseline is taken
    const base = { threads: threadCount(), children: childCount() };
    const th = await t.host(await project(mode), { watch: false });
    const plain = shapeKey(mode, {});
    const spare = await readySpare(plain);
    await spare.kill();
    const replaced = await readySpare(plain, spare);
    assert.is.not(idOf(mode, replaced), idOf(mode, spare), 'a new spare replaced the killed one');
    assert.ok(th.logs.some((r) => r.level <= 20 && /idle spare .* ended: .*starting another/.test(r.msg)), 'the death of an idle spare is logged at debug');
    await th.host.reload('where');
    assert.is(idOf(mode, await where(th, 'where')), idOf(mode, replaced), 'the replacement is taken at the next reload');
    const all = await Promise.all([readySpare(plain, replaced), readySpare(shapeKey(mode, LIMITED))]);
    assert.ok(threadCount() > base.threads || childCount() > base.children, 'isolates and spares run');

    await th.close();
    assert.equal(spares(), [], 'no spare after the host closed');
    if (mode === 'process') for (const s of all) assert.not.ok(pidAlive(s.pid!), `spare process ${s.pid} ended with the host's close`);
    await until('no thread or child process left', () => threadCount() <= base.threads && childCount() <= base.children, 10_000)
      .catch(() => assert.unreachable(`threads ${base.threads} -> ${threadCount()}, child processes ${base.children} -> ${childCount()}`));
  });

  S(`${mode}: "spares": false in the node's isolation override means no spare is made`, async () => {
    const th = await t.host(await project(mode, { where: { mode, spares: false } }), { watch: false });
    // where#limited (spares on) gets one once started: spares are made right after a start.
    await readySpare(shapeKey(mode, LIMITED));
    assert.not.ok(spares().some((s) => s.shape === shapeKey(mode, {})), 'none for where');
    const first = await where(th, 'where');
    await th.host.reload('where');
    const second = await where(th, 'where');
    assert.is(second.n, 2);
    assert.is.not(idOf(mode, second), idOf(mode, first));
    assert.not.ok(spares().some((s) => s.shape === shapeKey(mode, {})), 'still none after a reload');
  });
}

for (const mode of MODES) {
  S(`${mode}: an idle spare does not keep its host's process alive${mode === 'process' ? ', and ends with it' : ''}`, async () => {
    const host = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/fixtures/isolation-spares/lone-host.ts'), mode], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    host.stdout!.on('data', (b: Buffer) => { out += String(b); });
    const code = new Promise<number | null>((resolve) => host.once('exit', (c) => resolve(c)));
    const seen: { spare?: { pid: number | null; threadId: number | null; ready: boolean } } = {};
    try {
      const exited = await until('the stand-in host to end on its own', () => Promise.race([code.then((c) => ({ c })), new Promise<null>((r) => setTimeout(() => r(null), 100))]), 20_000);
      assert.is(exited.c, 0);
      const spare = (seen.spare = JSON.parse(out.trim()) as NonNullable<typeof seen.spare>);
      assert.ok(spare.ready && (mode === 'process' ? spare.pid! > 0 : spare.threadId! > 0), `it had a ready spare: ${out}`);
      if (mode === 'process') await until(`spare process ${spare.pid} to end with its host`, () => !pidAlive(spare.pid!), 10_000);
    } finally {
      host.kill('SIGKILL');
      const pid = seen.spare?.pid;
      if (pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
}

for (const mode of MODES) {
  S(`${mode}: an idle keep-alive connection does not hold up a reload (its stop closes it; no teardown step overruns)`, async () => {
    const port = await freePort();
    const project = await t.project({
      // A long stopMs: a stop that waited out its budget would pass the deadline below.
      modules: { ka: { cheshire: { isolation: mode, timeouts: { stopMs: 30_000 } }, index: readFileSync(join(REPO, 'test/fixtures/isolation-spares/keepalive/index.ts'), 'utf8') } },
      role: ['ka'],
      config: { modules: { ka: { port } } },
    });
    const th = await t.host(project, { watch: false });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = () => new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: 3_000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += String(d); });
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('GET /: no answer in 3000 ms')));
      req.on('error', reject);
    });
    try {
      const before = await get();
      const reloaded = th.host.reload('ka');
      await until('the reload to finish', () => Promise.race([reloaded.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 100))]), 10_000);
      const after = await until('GET / from the new incarnation', async () => { const b = await get().catch(() => ''); return b && b !== before ? b : ''; }, 10_000);
      assert.is.not(after, before);
      assert.not.ok(th.messages('ka').some((m) => /did not settle/.test(m)), `no teardown step overran: ${th.messages('ka').filter((m) => /settle/.test(m)).join('; ')}`);
    } finally {
      agent.destroy();
    }
  });
}

const STAMP = readFileSync(join(REPO, 'test/fixtures/isolation-spares/stamp/index.ts'), 'utf8');
interface Stamp { v: string; pid: number; thread: number; tainted: boolean }
const stamp = (th: TestHost) => (inst(th, 'stamp').run!.service as { info(): Promise<Stamp> }).info();

for (const mode of MODES) {
  S(`${mode}: a reload's new code is evaluated in the idle spare while the current version still serves; a spare given other code is never taken`, async () => {
    const project = await t.project({ modules: { stamp: { cheshire: { isolation: mode }, index: STAMP.replace('__V__', 'v1') } }, role: ['stamp'] });
    const stamps = join(project.dir, 'stamps.log');
    const before = process.env.CHS_TEST_STAMPS;
    process.env.CHS_TEST_STAMPS = stamps;
    try {
      const th = await t.host(project, { watch: false });
      const dir = project.modulePath('stamp', '').replace(/\/$/, '');
      const spare = await readySpare(shapeKey(mode, {}));
      await project.write('modules/stamp/index.ts', STAMP.replace('__V__', 'v2'));
      assert.equal(await th.host.reloadDir(dir), new Map());
      const v2 = await stamp(th);
      assert.is(v2.v, 'v2');
      assert.is(idOf(mode, v2), idOf(mode, spare), 'v2 runs in the spare that evaluated it');
      assert.equal(readFileSync(stamps, 'utf8').trim().split('\n'), ['eval v1', 'eval v2', 'stop v1'], 'v2 was evaluated before v1 stopped');

      // A spare that evaluated some other bundle (here: handed one directly) is ended, not taken.
      const next = await readySpare(shapeKey(mode, {}), spare);
      const other = { name: 'other', dir: project.dir, filename: join(project.dir, 'other.js'), vmName: `${join(project.dir, 'other.js')}#0`, code: 'globalThis.__tainted = true; exports.start = () => ({});', map: '{"version":3,"sources":[],"names":[],"mappings":""}', externals: [], kind: mode, sdkUrl: '' };
      assert.ok(preload(mode, {}, other), 'the idle spare took the other bundle');
      await project.write('modules/stamp/index.ts', STAMP.replace('__V__', 'v3'));
      assert.equal(await th.host.reloadDir(dir), new Map());
      const v3 = await stamp(th);
      assert.is(v3.v, 'v3');
      assert.is(v3.tainted, false, 'v3 does not run where other code was evaluated');
      assert.is.not(idOf(mode, v3), idOf(mode, next), 'v3 runs in a new isolate, not the spare given other code');
      if (mode === 'process') await until(`the spare given other code (${next.pid}) to end`, () => !pidAlive(next.pid!), 10_000);
      assert.equal(readFileSync(stamps, 'utf8').trim().split('\n').slice(3), ['stop v2', 'eval v3'], 'v3 was evaluated at its start');
    } finally {
      if (before === undefined) delete process.env.CHS_TEST_STAMPS;
      else process.env.CHS_TEST_STAMPS = before;
    }
  });
}

for (const mode of MODES) {
  S(`${mode}: a reload whose new code throws or hangs at its top level is refused before the old version stops`, async () => {
    const project = await t.project({ modules: { where: { cheshire: { isolation: mode, timeouts: { startMs: 1_500 } }, index: WHERE } }, role: ['where'] });
    const th = await t.host(project, { watch: false });
    const dir = project.modulePath('where', '').replace(/\/$/, '');
    const first = await where(th, 'where');
    await readySpare(shapeKey(mode, {}));
    await project.write('modules/where/index.ts', `${WHERE}\nthrow new Error('top level says no');\n`);
    const refused = (await th.host.reloadDir(dir)).get('where') as (Error & { code?: string }) | undefined;
    assert.is(refused?.code, 'CHS_ERR_MODULE_LOAD', refused?.message);
    assert.match(refused!.message, /evaluating .* threw: top level says no/);
    const still = await where(th, 'where');
    assert.equal([idOf(mode, still), still.n], [idOf(mode, first), 1], 'the old incarnation kept running, never stopped');
    assert.is(inst(th, 'where').state, 'active');

    const spare = await readySpare(shapeKey(mode, {}));
    await project.write('modules/where/index.ts', `${WHERE}\nwhile (true) {}\n`);
    const hung = (await th.host.reloadDir(dir)).get('where') as (Error & { code?: string }) | undefined;
    assert.is(hung?.code, 'CHS_ERR_START_TIMEOUT', hung?.message);
    assert.match(hung!.message, /did not finish within 1500 ms/);
    assert.equal([idOf(mode, await where(th, 'where')), (await where(th, 'where')).n], [idOf(mode, first), 1], 'still the first incarnation');
    if (mode === 'process') await until(`the hung spare ${spare.pid} to be ended`, () => !pidAlive(spare.pid!), 10_000);

    // A good version after both goes through, even asked for twice at once (a save the watcher
    // saw and a ctl reload): the second finds the spare taken by the first's start and does not wait for it.
    await readySpare(shapeKey(mode, {}));
    await project.write('modules/where/index.ts', `${WHERE}\nexport const fixed = 1;\n`);
    const both = await Promise.all([th.host.reloadDir(dir), th.host.reloadDir(dir)]);
    assert.equal(both.map((f) => [...f.values()].map((e) => e.message)), [[], []]);
    assert.is((await where(th, 'where')).n, 2, 'one next version, which took the handed value');
    assert.is(inst(th, 'where').state, 'active');
  });
}

S('config: "spares" is a boolean of an isolation override', () => {
  assert.equal(parseNodeConfig({ isolation: { m: { mode: 'worker', spares: false } } }, 'x.json').isolation, { m: { mode: 'worker', spares: false } });
  assert.throws(() => parseNodeConfig({ isolation: { m: { mode: 'worker', spares: 'no' } } }, 'x.json'), (e: Error & { code?: string }) => e.code === 'CHS_ERR_CONFIG_INVALID' && /isolation/.test(e.message));
});

S.run();
