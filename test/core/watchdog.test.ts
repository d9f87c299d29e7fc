// The watchdog: a module that blocks the event loop is named (module and file:line, sampled by
// the worker thread through the inspector), recorded on its status and treated as crashing
// (backoff, restart; failed when it keeps doing it); an innocent module is not blamed; the
// watchdog closes with the host; a `while (true)` ends the process (exit 70) with a crash record
// the next start shows as the last incident.
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, closeAgent } from '../helpers/project.ts';
import { BAG, bag, inst, resetBag, scope, until } from '../helpers/extra.ts';

const W = suite('watchdog');
const t = scope();

W.before.each(() => resetBag());
W.after.each(() => t.cleanup());
W.after(() => closeAgent());

/** A module whose start schedules a synchronous spin of `ms` (on the attempts `when` accepts). */
const spinner = (key: string, ms: number, when: string) => `${BAG}
function spin(ms: number) {
  const end = Date.now() + ms;
  while (Date.now() < end) {} // the blocking line
}
export function start(ctx: any) {
  const n = (bag.${key} = (bag.${key} ?? 0) + 1);
  if (${when}) setTimeout(() => spin(${ms}), 50);
  return { n };
}
`;

const innocent = `${BAG}
export function start(ctx: any) {
  const t = setInterval(() => { bag.ticks = (bag.ticks ?? 0) + 1; }, 20);
  ctx.onStop(() => clearInterval(t));
  return {};
}
`;

W('a 1.5 s spin is named (module, file:line), recorded on status, and restarted through backoff; the innocent module is not blamed', async () => {
  const project = await t.project({
    modules: { spin: { index: spinner('spins', 1500, 'n === 1') }, calm: { index: innocent } },
    role: ['spin', 'calm'],
    config: { watchdog: { blockedMs: 500, killAfterMs: 0 } },
  });
  const th = await t.host(project);
  const first = inst(th, 'spin').run;
  const spin = await until('spin to be restarted after its stall', () => {
    const i = inst(th, 'spin');
    return i.state === 'active' && i.restarts >= 1 && i.run !== first && i;
  }, 15_000);
  const line = th.messages('host').find((m) => m.startsWith('event loop blocked'));
  assert.ok(line, 'the host log has the stall');
  assert.match(line!, /^event loop blocked for (\d+) ms in spin at .*modules\/spin\/index\.ts:5:\d+$/, 'names the module and the blocking line');
  const ms = Number(/for (\d+) ms/.exec(line!)![1]);
  assert.ok(ms >= 1300 && ms < 3000, `measured ${ms} ms for a 1.5 s spin`);
  assert.ok(th.messages('spin').includes(line!), 'the module log has it too');
  assert.ok(th.messages('spin').some((m) => /restarting in \d+ ms \(crash 1\)/.test(m)), 'went through backoff');
  assert.is(spin.lastError?.code, 'CHS_ERR_EVENT_LOOP_BLOCKED');

  const st = th.host.status();
  const s = st.instances.find((i) => i.id === 'spin')!;
  assert.is(s.stalls, 1);
  assert.match(s.lastStall!.where!, /modules\/spin\/index\.ts:5:/);
  assert.is(st.watchdog!.stalls, 1);
  assert.is(st.watchdog!.lastStall!.module, 'spin');
  assert.ok(st.watchdog!.loopDelayMs.max >= 1000, `loop delay max ${st.watchdog!.loopDelayMs.max} ms`);
  assert.ok(st.watchdog!.lastSampleMs !== null, 'the sample cost is reported');
  if (process.env.CHESHIRE_TEST_LOG) console.log(`stall ${ms} ms; sample cost ${st.watchdog!.lastSampleMs} ms; loop delay ${JSON.stringify(st.watchdog!.loopDelayMs)}; memory ${JSON.stringify(st.watchdog!.memory)}`);

  const calm = st.instances.find((i) => i.id === 'calm')!;
  assert.is(calm.stalls, undefined, 'calm is not blamed');
  assert.is(calm.restarts, 0);
  assert.is(calm.state, 'active');
  assert.not.ok(th.messages('calm').some((m) => /blocked/.test(m)));
  assert.is(bag().spins, 2);
});

W('a module that keeps blocking is failed after maxRestarts', async () => {
  const project = await t.project({
    modules: { hog: { index: spinner('hogs', 700, 'true') }, calm: { index: innocent } },
    role: ['hog', 'calm'],
    config: { watchdog: { blockedMs: 300, killAfterMs: 0 }, supervisor: { maxRestarts: 2, windowMs: 30_000, backoffMs: 20, backoffMaxMs: 100 } },
  });
  const th = await t.host(project);
  const hog = await until('hog to be failed', () => inst(th, 'hog').state === 'failed' && inst(th, 'hog'), 20_000);
  assert.is(hog.lastError?.code, 'CHS_ERR_MODULE_FAILED');
  assert.match(hog.lastError!.message, /hog crashed 3 times; given up\. Last error: CHS_ERR_EVENT_LOOP_BLOCKED: hog: event loop blocked for \d+ ms in hog at /);
  const s = th.host.status().instances.find((i) => i.id === 'hog')!;
  assert.is(s.stalls, 3);
  assert.is(inst(th, 'calm').state, 'active');
  assert.is(inst(th, 'calm').restarts, 0);
});

W('the watchdog closes with the host: no worker or timer left', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
  const project = await t.project({ modules: { calm: { index: innocent } }, role: ['calm'] });
  const th = await t.host(project);
  assert.ok(th.host.status().watchdog?.enabled, 'watchdog running');
  await th.close();
  // Give terminate()'s handles a turn to go.
  await new Promise((r) => setImmediate(r));
  const after = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
  assert.not.ok(after.includes('Worker') || after.includes('MessagePort'), `left: ${after.join(', ')}`);
  assert.ok(after.filter((r) => r === 'Timeout').length <= before.filter((r) => r === 'Timeout').length, `timers before ${before.join(',')} after ${after.join(',')}`);
});

W('while (true) ends the process with exit 70 and a crash record; the next start shows it as the last incident', async () => {
  const project = await t.project({
    modules: {
      looper: { index: `export function start() {\n  setTimeout(() => {\n    for (;;) {} // stuck for good\n  }, 100);\n  return {};\n}\n` },
      calm: { index: innocent },
    },
    role: ['looper', 'calm'],
    config: { watchdog: { blockedMs: 300, killAfterMs: 1_500 } },
  });
  const script = join(project.dir, 'run-host.mts');
  await writeFile(script, `import { Host } from ${JSON.stringify(pathToFileURL(join(REPO, 'core/host.ts')).href)};
import { createLogging } from ${JSON.stringify(pathToFileURL(join(REPO, 'core/log.ts')).href)};
await new Host({ configFile: ${JSON.stringify(project.configFile)}, watch: false, logging: createLogging({ out: null }) }).start();
setInterval(() => {}, 1000);
`);
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  clearTimeout(killer);
  assert.is(signal, null, `ended by signal ${signal}; stderr: ${stderr}`);
  assert.is(code, 70, `exit code; stderr: ${stderr}`);
  assert.ok(Date.now() - t0 < 15_000, 'bounded in time');
  assert.match(stderr, /cheshire watchdog: event loop blocked for \d+ ms in looper at .*modules\/looper\/index\.ts:3:\d+; ending the process \(exit 70\)/);
  const record = JSON.parse(await readFile(join(project.dir, '.cheshire/watchdog-last.json'), 'utf8'));
  assert.is(record.module, 'looper');
  assert.match(record.where, /modules\/looper\/index\.ts:3:/);
  assert.ok(record.ms >= 1_500, `record ms ${record.ms}`);

  await project.write('config/roles/test.json', JSON.stringify({ modules: ['calm'] }));
  const th = await t.host(project);
  const incident = await until('the last incident in status', () => th.host.status().watchdog?.lastIncident, 3_000);
  assert.is(incident.module, 'looper');
  assert.is(incident.pid, child.pid);
  assert.ok(th.messages('host').some((m) => /previous process .* was ended .* in looper/.test(m)));
});

W.run();
