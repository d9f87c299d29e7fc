// The reload timeline (ctx.host.reloads / onReload): every reload and restart is one entry with
// its trigger, hot swap or restart, outcome and error (with the module's file:line); static
// dependents restarted by a provider's reload, config changes and crash restarts are entries too.
// Also: onStatus, schema and validateConfig, and the node's start time and versions in status.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import type { ReloadEvent } from '../../core/types.ts';

const provider = (word: string) => `
export function start(ctx: any) {
  return { word: () => '${word}' };
}
`;

const consumer = `
export function start(ctx: any) {
  return { say: () => ctx.deps.word.word() };
}
`;

const T = suite<{ project: Project; th: TestHost; seen: ReloadEvent[]; off: () => void }>('timeline');

T.before.each(async (ctx) => {
  ctx.project = await makeProject({
    modules: {
      w: { cheshire: { provides: ['word'], config: { schema: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } }, defaults: { n: 1 } } }, index: provider('one') },
      c: { cheshire: { requires: [{ service: 'word', policy: 'static' }] }, index: consumer },
    },
    role: ['w', 'c'],
  });
  ctx.th = await startHost(ctx.project);
  ctx.seen = [];
  ctx.off = ctx.th.host.control.onReload((e) => ctx.seen.push(e));
});

T.after.each(async (ctx) => {
  ctx.off();
  await ctx.th.close();
  await ctx.project.cleanup();
});

const last = (th: TestHost, id: string) => th.host.control.reloads(id).at(-1);
const lastWith = (th: TestHost, id: string, outcome: ReloadEvent['outcome']) => () => {
  const e = last(th, id);
  return e?.outcome === outcome ? e : undefined;
};

T('a save is a hot reload of the module and a dependency restart of its static dependent', async ({ project, th, seen }) => {
  assert.equal(th.host.control.reloads(), [], 'nothing on the timeline after start-up');
  await project.write('modules/w/index.ts', provider('two'));
  await waitFor('both entries', () => seen.length >= 2);
  const w = seen.find((e) => e.id === 'w')!;
  const c = seen.find((e) => e.id === 'c')!;
  assert.is(w.trigger, 'save');
  assert.is(w.kind, 'hot');
  assert.is(w.outcome, 'active');
  assert.is(w.module, 'w');
  assert.is(w.version, '1.0.0');
  assert.match(w.hash ?? '', /^[0-9a-f]{12}$/);
  assert.is(w.error, null);
  assert.ok(w.ms >= 0 && Number.isFinite(Date.parse(w.at)));
  assert.is(c.trigger, 'dependency');
  assert.is(c.kind, 'restart');
  assert.is(c.outcome, 'active');
  assert.ok(c.seq > w.seq, 'seq orders the entries');
  assert.equal(th.host.control.reloads().map((e) => e.seq), seen.map((e) => e.seq), 'reloads() and onReload agree');
});

T('a broken save is refused with the error and where it is; the old version stays active', async ({ project, th }) => {
  await project.write('modules/w/index.ts', 'export function start( {');
  const e = (await waitFor('a refused entry', lastWith(th, 'w', 'refused')))!;
  assert.is(e.trigger, 'save');
  assert.is(e.error!.code, 'CHS_ERR_MODULE_LOAD');
  assert.match(e.error!.message, /index\.ts:1:\d+/);
  assert.is(th.host.instances.get('w')!.state, 'active');
  assert.is(th.host.control.reloads('c').length, 0, 'a refused reload restarts nothing');
});

T('a throw in the new start is a failed entry naming the file and line', async ({ project, th }) => {
  const running = th.host.instances.get('w')!.code!.loaded.hash;
  await project.write('modules/w/index.ts', `export function start() {\n  throw new Error('broken start');\n}\n`);
  const e = (await waitFor('a failed entry', lastWith(th, 'w', 'failed')))!;
  assert.is(e.kind, 'hot');
  assert.match(e.error!.message, /broken start/);
  assert.is(e.error!.code, 'CHS_ERR_MODULE_START');
  assert.match(e.error!.where ?? '', /modules\/w\/index\.ts:2:\d+$/);
  assert.match(e.error!.stack, /broken start/);
  assert.match(e.hash ?? '', /^[0-9a-f]{12}$/);
  assert.is.not(e.hash, running, 'the entry names the version that failed, not the one restored');
  await waitFor('the old version active again', () => th.host.instances.get('w')!.state === 'active');
});

T('a config change is a restart with trigger config; a ctl reload of the same code is a restart', async ({ th }) => {
  await th.host.control.setConfig('w', { n: 2 });
  const e = last(th, 'w')!;
  assert.is(e.trigger, 'config');
  assert.is(e.kind, 'restart');
  assert.is(e.outcome, 'active');
  await th.host.control.reload('w');
  const r = last(th, 'w')!;
  assert.is(r.trigger, 'ctl');
  assert.is(r.kind, 'restart');
});

T('status says whether the last error still applies: a refused save is current, a fixed one is not', async ({ project, th }) => {
  await project.write('modules/w/index.ts', 'export function start( {');
  await waitFor('a refused entry', lastWith(th, 'w', 'refused'));
  const refused = th.host.control.status().instances.find((i) => i.id === 'w')!.lastError!;
  assert.is(refused.current, true, 'the broken save is still what is on disk');
  await project.write('modules/w/index.ts', provider('fixed'));
  await waitFor('the fixed version active', () => th.host.control.reloads('w').at(-1)?.outcome === 'active');
  const after = th.host.control.status().instances.find((i) => i.id === 'w')!.lastError!;
  assert.is(after.current, false, 'recovered since');
  assert.is(after.code, 'CHS_ERR_MODULE_LOAD', 'the last error is still shown, with its time');
});

T('a crash restart after backoff is an entry with trigger crash', async ({ project, th }) => {
  await project.write('modules/w/index.ts', `
const g = globalThis as any;
export function start(ctx: any) {
  g.__tl = (g.__tl ?? 0) + 1;
  if (g.__tl === 1) setTimeout(() => { throw new Error('timer boom'); }, 20);
  return { word: () => 'x' };
}
`);
  const e = (await waitFor('a crash restart entry', () => th.host.control.reloads('w').find((x) => x.trigger === 'crash'), 5_000))!;
  assert.is(e.kind, 'restart');
  assert.is(e.outcome, 'active');
  const err = th.host.control.status().instances.find((i) => i.id === 'w')!.lastError!;
  assert.match(err.message, /timer boom/);
  assert.is(err.current, false, 'restarted since the crash');
});

T('onStatus fires on changes; schema and validateConfig answer without applying', async ({ th }) => {
  let calls = 0;
  const off = th.host.control.onStatus(() => { calls++; });
  try {
    await th.host.control.reload('w');
    assert.ok(calls > 0, 'onStatus called');
  } finally {
    off();
  }
  const { schema, defaults } = th.host.control.schema('w');
  assert.equal(defaults, { n: 1 });
  assert.is((schema as { type: string }).type, 'object');
  assert.equal(th.host.control.validateConfig('w', { n: 3 }), []);
  const bad = th.host.control.validateConfig('w', { n: 0 });
  assert.is(bad.length, 1);
  assert.match(bad[0]!, /n/);
  assert.equal(th.host.control.config('w').override, {}, 'validateConfig applied nothing');
  assert.throws(() => th.host.control.schema('nope'), /CHS_ERR_INSTANCE_NOT_FOUND/);
  const status = th.host.control.status();
  assert.ok(Number.isFinite(Date.parse(status.startedAt)));
  assert.is(status.versions.node, process.versions.node);
  assert.match(status.versions.cheshire, /^\d+\.\d+\.\d+/);
});

T.run();
