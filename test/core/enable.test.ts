// enable/disable: an instance is added to (or kept out of) the running node without touching the
// others (same incarnation, same start time), written to cheshire.json, kept across a restart,
// and picked up from a hand edit of the file; a bad config or an unknown module changes nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile, writeFile } from 'node:fs/promises';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const provider = `export function start() { return { n: () => 1 }; }\n`;
const user = `export function start(ctx: any) { return { sum: () => ctx.deps.a.n() + 1 }; }\n`;
const word = `export function start(ctx: any) { return { word: () => ctx.config.word }; }\n`;

let project: Project;
let th: TestHost;

test.before(async () => {
  project = await makeProject({
    modules: {
      a: { cheshire: { provides: ['a'] }, index: provider },
      b: { cheshire: { provides: ['b'], requires: [{ service: 'a' }] }, index: user },
      c: {
        cheshire: { provides: ['c'], config: { schema: { type: 'object', additionalProperties: false, properties: { word: { type: 'string' } } }, defaults: { word: 'hi' } } },
        index: word,
      },
    },
    role: ['a', 'b'],
  });
  th = await startHost(project);
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const inst = (id: string) => th.host.instances.get(id);
const fileJson = async () => JSON.parse(await readFile(project.configFile, 'utf8')) as { modules: Record<string, unknown>; disabled?: string[] };
const snapshot = () => new Map([...th.host.instances.values()].map((i) => [i.id, { run: i.run, startedAt: i.startedAt, state: i.state }]));

test('enable starts only the new instance; the others keep their incarnation; cheshire.json names it', async () => {
  const before = snapshot();
  const added = await th.host.enable('c');
  assert.equal(added, ['c']);
  assert.is(inst('c')!.state, 'active');
  for (const [id, was] of before) {
    assert.is(inst(id)!.run, was.run, `${id} kept its incarnation`);
    assert.is(inst(id)!.startedAt, was.startedAt, `${id} kept its start time`);
  }
  assert.equal((await fileJson()).modules.c, {});
  assert.equal((await th.host.configs.list('c')).map((r) => r.source), ['api']);
});

test('enable with a config: a bad value is refused and nothing is written; a good one runs a second instance', async () => {
  const file = await readFile(project.configFile, 'utf8');
  try {
    await th.host.enable('c#two', { word: 5 });
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_CONFIG_INVALID');
    assert.match((err as Error).message, /c#two/);
  }
  assert.is(await readFile(project.configFile, 'utf8'), file);
  assert.not.ok(inst('c#two'));
  await th.host.enable('c#two', { word: 'two' });
  assert.is((inst('c#two')!.run!.service as { word(): string }).word(), 'two');
});

test('enable of a module no directory holds is refused naming it', async () => {
  try {
    await th.host.enable('nope#x');
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_MODULE_NOT_FOUND');
    assert.match((err as Error).message, /nope/);
  }
});

test('disable stops one instance and keeps it stopped across a restart; enable brings it back', async () => {
  const aRun = inst('a')!.run;
  await th.host.disable('b');
  assert.is(inst('b')!.state, 'stopped');
  assert.is(inst('a')!.run, aRun);
  assert.equal((await fileJson()).disabled, ['b']);
  await th.close();
  th = await startHost(project);
  assert.is(inst('b')!.state, 'stopped');
  assert.ok(inst('b')!.status().disabled);
  assert.is(inst('c')!.state, 'active');
  assert.is((inst('c#two')!.run!.service as { word(): string }).word(), 'two');
  await th.host.enable('b');
  assert.is(inst('b')!.state, 'active');
  assert.equal((await fileJson()).disabled, []);
});

test('a hand edit adding an instance under "modules" runs it; "disabled" stops one', async () => {
  const raw = await fileJson();
  raw.modules['c#three'] = { word: 'three' };
  await writeFile(project.configFile, JSON.stringify(raw, null, 2));
  await waitFor('c#three to run', () => inst('c#three')?.state === 'active');
  raw.disabled = ['c'];
  await writeFile(project.configFile, JSON.stringify(raw, null, 2));
  await waitFor('c to stop', () => inst('c')?.state === 'stopped');
  assert.is(inst('c#three')!.state, 'active');
});

test('an instance configured under "modules" that no module provides: the node runs without it and says so', async () => {
  await th.close();
  const raw = await fileJson();
  raw.modules['ghost#x'] = {};
  await writeFile(project.configFile, JSON.stringify(raw, null, 2));
  th = await startHost(project);
  assert.is(th.host.failsafe, null);
  assert.match(th.host.configError?.message ?? '', /ghost/);
  assert.is(inst('a')!.state, 'active');
});

test.run();
