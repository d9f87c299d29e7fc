// Instance config: validated against the module's schema at start, through host.setConfig and
// on hand edits of cheshire.json; a good change restarts only its instance, is written back and
// recorded as a numbered revision; a bad one is refused naming instance, key, expectation, value.
import { readFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Instance } from '../../core/instance.ts';
import { waitFor, type ModuleSpec, type Project } from '../helpers/project.ts';
import { inst, plain, scope, sleep, until } from '../helpers/extra.ts';

const C = suite('config');
const t = scope();

C.after.each(() => t.cleanup());

const web: ModuleSpec = {
  cheshire: {
    config: {
      schema: {
        type: 'object',
        properties: { port: { type: 'integer', minimum: 1 }, greeting: { type: 'string' } },
        required: ['port'],
      },
      defaults: { port: 8080, greeting: 'hi' },
    },
  },
  index: plain,
};
const other: ModuleSpec = { index: plain };

const diskConfig = async (p: Project) => JSON.parse(await readFile(p.configFile, 'utf8')) as { node: string; modules?: Record<string, unknown> };
function svcConfig(i: Instance): Record<string, unknown> {
  assert.ok(i.run, `${i.id} has a run (state: ${i.state})`);
  return (i.run!.service as { config: Record<string, unknown> }).config;
}

async function twoInstances(config?: Record<string, unknown>) {
  const project = await t.project({ modules: { web, other }, role: ['web', 'other'], config });
  const th = await t.host(project);
  assert.is(th.host.failsafe, null);
  return { project, th };
}

C('a bad value in cheshire.json modules.<id> at start is refused naming instance, key, expectation and value', async () => {
  const project = await t.project({ modules: { web, other }, role: ['web', 'other'], config: { modules: { web: { port: 'abc' } } } });
  const th = await t.host(project);
  const fs = th.host.failsafe;
  assert.ok(fs, 'failsafe mode');
  assert.is(fs!.code, 'CHS_ERR_CONFIG_INVALID');
  assert.match(fs!.message, /\bweb\b/);
  assert.match(fs!.message, '/port');
  assert.match(fs!.message, 'must be integer');
  assert.match(fs!.message, '"abc"');
  assert.ok(th.host.status().instances.every((i) => i.state !== 'active'), 'nothing runs');
});

C('setConfig with a bad value throws and changes nothing', async () => {
  const { project, th } = await twoInstances();
  const before = await readFile(project.configFile);
  const run = inst(th, 'web').run;
  try {
    await th.host.configs.set('web', { port: 'x' });
    assert.unreachable('setConfig accepted a bad value');
  } catch (err) {
    if (err instanceof assert.Assertion) throw err;
    const e = err as Error & { code?: string };
    assert.is(e.code, 'CHS_ERR_CONFIG_INVALID');
    assert.match(e.message, /\bweb\b/);
    assert.match(e.message, '/port');
    assert.match(e.message, 'must be integer');
    assert.match(e.message, '"x"');
  }
  const w = inst(th, 'web');
  assert.ok(w.run === run, 'same run');
  assert.is(w.state, 'active');
  assert.equal(w.config, { port: 8080, greeting: 'hi' });
  assert.ok((await readFile(project.configFile)).equals(before), 'cheshire.json unchanged byte for byte');
  assert.equal((await th.host.configs.list('web')).map((r) => r.rev), [1]);
});

C('setConfig with a good value restarts only that instance, writes cheshire.json, records revisions; revert', async () => {
  const { project, th } = await twoInstances();
  const otherRun = inst(th, 'other').run;
  const webRun = inst(th, 'web').run;

  const r2 = await th.host.configs.set('web', { port: 9001 });
  assert.is(r2.rev, 2);
  assert.is(r2.source, 'api');
  assert.equal(r2.config, { port: 9001, greeting: 'hi' });
  const w = inst(th, 'web');
  assert.is(w.state, 'active');
  assert.ok(w.run !== webRun, 'web restarted');
  assert.equal(svcConfig(w), { port: 9001, greeting: 'hi' }, 'the new run sees the new config');
  assert.ok(inst(th, 'other').run === otherRun, 'other keeps its run');
  const disk = await diskConfig(project);
  assert.equal(disk.modules?.web, { port: 9001 });
  assert.is(disk.node, 'test', 'the rest of cheshire.json is kept');

  await th.host.configs.set('web', { port: 9002, greeting: 'yo' });
  assert.equal(svcConfig(inst(th, 'web')), { port: 9002, greeting: 'yo' });

  const r4 = await th.host.configs.revert('web', 2);
  assert.is(r4.rev, 4);
  assert.is(r4.source, 'revert');
  assert.equal(r4.config, r2.config);
  assert.equal(svcConfig(inst(th, 'web')), { port: 9001, greeting: 'hi' });
  const reverted = (await diskConfig(project)).modules?.web as Record<string, unknown>;
  assert.is(reverted.port, 9001);
  assert.ok(reverted.greeting === undefined || reverted.greeting === 'hi');

  // The host's own writes of cheshire.json reach its file watcher too; they must not count as edits.
  await sleep(300);
  const revs = await th.host.configs.list('web');
  assert.equal(revs.map((r) => r.rev), [1, 2, 3, 4]);
  assert.equal(revs.map((r) => r.source), ['start', 'api', 'api', 'revert']);
  assert.equal(revs.map((r) => r.config.port), [8080, 9001, 9002, 9001]);
  assert.equal(inst(th, 'web').config, { port: 9001, greeting: 'hi' }, 'the reverted config is still the running one');
  assert.ok(inst(th, 'other').run === otherRun, 'other untouched throughout');
  assert.equal((await th.host.configs.list('other')).map((r) => r.rev), [1]);
});

C('named instances of one module run side by side with their own config', async () => {
  const greeter: ModuleSpec = {
    cheshire: { config: { schema: { type: 'object', properties: { greeting: { type: 'string' } }, required: ['greeting'] } } },
    index: `export function start(ctx: any) { return { id: ctx.id, greet: (who: string) => ctx.config.greeting + ', ' + who }; }`,
  };
  const project = await t.project({
    modules: { greeter },
    role: ['greeter#en', 'greeter#fr'],
    config: { modules: { 'greeter#en': { greeting: 'hello' }, 'greeter#fr': { greeting: 'bonjour' } } },
  });
  const th = await t.host(project);
  assert.is(th.host.failsafe, null);
  type Greeter = { id: string; greet(who: string): string };
  const svc = (id: string) => inst(th, id).run!.service as Greeter;
  assert.is(inst(th, 'greeter#en').state, 'active');
  assert.is(inst(th, 'greeter#fr').state, 'active');
  assert.is(svc('greeter#en').greet('Alice'), 'hello, Alice');
  assert.is(svc('greeter#fr').greet('Alice'), 'bonjour, Alice');
  assert.is(svc('greeter#fr').id, 'greeter#fr');

  const enRun = inst(th, 'greeter#en').run;
  await th.host.configs.set('greeter#fr', { greeting: 'salut' });
  assert.is(svc('greeter#fr').greet('Bob'), 'salut, Bob');
  assert.ok(inst(th, 'greeter#en').run === enRun, 'the other instance of the module keeps its run');
  assert.equal((await diskConfig(project)).modules?.['greeter#fr'], { greeting: 'salut' });
});

C('a hand edit of cheshire.json is applied to the changed instance only (revision source "file")', async () => {
  const { project, th } = await twoInstances();
  const otherRun = inst(th, 'other').run;
  const raw = await diskConfig(project);
  await project.write('cheshire.json', JSON.stringify({ ...raw, modules: { web: { port: 7000 } } }, null, 2));
  await waitFor('web to run with port 7000', () => inst(th, 'web').state === 'active' && svcConfig(inst(th, 'web')).port === 7000);
  assert.ok(inst(th, 'other').run === otherRun, 'other keeps its run');
  const revs = await until('the revision to be recorded', async () => {
    const list = await th.host.configs.list('web');
    return list.length === 2 && list;
  });
  assert.equal(revs.map((r) => [r.rev, r.source]), [[1, 'start'], [2, 'file']]);
  assert.is(revs[1]!.config.port, 7000);
  assert.is(th.host.configError, null);
});

C('an invalid instance value in a hand edit is refused with host.configError, running config kept', async () => {
  const { project, th } = await twoInstances();
  const webRun = inst(th, 'web').run;
  const raw = await diskConfig(project);
  await project.write('cheshire.json', JSON.stringify({ ...raw, modules: { web: { port: 'seven' } } }, null, 2));
  const err = await until('host.configError to be set', () => th.host.configError, 3_000);
  assert.is(err.code, 'CHS_ERR_CONFIG_INVALID');
  assert.match(err.message, /\bweb\b/);
  assert.match(err.message, '/port');
  assert.match(err.message, 'must be integer');
  const w = inst(th, 'web');
  assert.ok(w.run === webRun, 'web keeps its run');
  assert.equal(w.config, { port: 8080, greeting: 'hi' });
  assert.equal((await th.host.configs.list('web')).map((r) => r.rev), [1]);

  await project.write('cheshire.json', JSON.stringify({ ...raw, modules: { web: { port: 7001 } } }, null, 2));
  await waitFor('the corrected edit to apply', () => th.host.configError === null && svcConfig(inst(th, 'web')).port === 7001);
});

C('an unparsable hand edit is refused with host.configError, running config kept', async () => {
  const { project, th } = await twoInstances({ modules: { web: { port: 8081 } } });
  const webRun = inst(th, 'web').run;
  await project.write('cheshire.json', '{ "node": "test", "modules": { "web": { "port": 7 } ');
  const err = await until('host.configError to be set', () => th.host.configError);
  assert.is(err.code, 'CHS_ERR_CONFIG_PARSE');
  assert.match(err.message, 'cheshire.json');
  assert.ok(inst(th, 'web').run === webRun, 'web keeps its run');
  assert.equal(inst(th, 'web').config, { port: 8081, greeting: 'hi' });
  assert.is(th.host.failsafe, null, 'no failsafe for a refused edit');
});

C.run();
