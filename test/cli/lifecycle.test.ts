// The module-lifecycle commands as child processes against a real node (styx-root over 9P):
// `enable` (with --config FILE), `disable`, `history`, `rollback`; refusals exit 1 naming what
// was wrong.
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cheshire, show } from '../helpers/cli.ts';
import { waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';

const word = (w: string) => `export function start(ctx: any) { return { word: () => ctx.config.word + ' ${w}' }; }\n`;
const wordDescriptor = { provides: ['word'], config: { schema: { type: 'object', additionalProperties: false, properties: { word: { type: 'string' } } }, defaults: { word: 'w' } } };

let styx: StyxNode;
let project: Project;
let th: TestHost;
let node: string;

test.before(async () => {
  styx = await startStyxNode({ modules: { w: { cheshire: wordDescriptor, index: word('one') } }, role: [] });
  ({ project, th } = styx);
  node = `127.0.0.1:${styx.port}`;
});

test.after(async () => {
  await styx?.close();
});

const cli = (...args: string[]) => cheshire([...args, '--node', node]);
const said = (id: string) => (th.host.instances.get(id)!.run!.service as { word(): string }).word();

test('enable M and enable M#I --config FILE start them on the running node; disable stops one', async () => {
  const rootRun = th.host.instances.get('styx-root')!.run;
  let r = await cli('enable', 'w');
  assert.is(r.code, 0, show(r));
  assert.is(r.stdout, 'enabled w: active\n');
  assert.is(said('w'), 'w one');
  const file = join(project.dir, 'two.json');
  await writeFile(file, JSON.stringify({ word: 'deux' }, null, 2));
  r = await cli('enable', 'w#two', '--config', file);
  assert.is(r.code, 0, show(r));
  assert.is(said('w#two'), 'deux one');
  assert.is(th.host.instances.get('styx-root')!.run, rootRun, 'the tree itself never restarted');

  r = await cli('disable', 'w#two');
  assert.is(r.code, 0, show(r));
  assert.is(th.host.instances.get('w#two')!.state, 'stopped');
  assert.equal(JSON.parse(await readFile(project.configFile, 'utf8')).disabled, ['w#two']);
  r = await cli('status');
  assert.match(r.stdout, /w#two/);
});

test('enable refuses a bad config (naming the key) and an unknown module; nothing changes', async () => {
  const before = await readFile(project.configFile, 'utf8');
  const file = join(project.dir, 'bad.json');
  await writeFile(file, JSON.stringify({ word: 5 }));
  let r = await cli('enable', 'w#bad', '--config', file);
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /CHS_ERR_CONFIG_INVALID/);
  assert.match(r.stderr, /word/);
  r = await cli('enable', 'nosuch');
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /nosuch/);
  assert.is(await readFile(project.configFile, 'utf8'), before);
  assert.not.ok(th.host.instances.get('w#bad'));
});

test('history lists the versions; rollback makes the previous one active again', async () => {
  await project.write('modules/w/index.ts', word('two'));
  await waitFor('version two', () => th.host.instances.get('w')?.run && said('w') === 'w two');
  await waitFor('its history entry', async () => (await th.host.versions('w')).some((e) => e.source === 'save'));
  let r = await cli('history', 'w');
  assert.is(r.code, 0, show(r));
  const lines = r.stdout.trim().split('\n');
  assert.match(lines.at(-1)!, /^\d+ \S+ save active v1\.0\.0 [0-9a-f]{12} #[0-9a-f]{12} \*$/);
  r = await cli('rollback', 'w');
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /^w runs rev 1 again/);
  assert.is(said('w'), 'w one');
  r = await cli('rollback', 'w', 'x');
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /not a revision number/);
});

test('enable M#I --from DIR runs a copy beside the live one; promote M#I makes it the live code', async () => {
  const beta = join(project.dir, 'w-beta');
  await cp(project.modulePath('w', ''), beta, { recursive: true });
  await writeFile(join(beta, 'index.ts'), word('beta'));
  let r = await cli('enable', 'w#beta', '--from', beta);
  assert.is(r.code, 0, show(r));
  assert.is(said('w#beta'), 'w beta');
  r = await cli('promote', 'w#beta');
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /^promoted w#beta: w runs its code \(rev \d+/);
  assert.is(said('w'), 'w beta');
  assert.not.ok(th.host.instances.get('w#beta'));
  r = await cli('promote', 'w');
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /CHS_ERR_(INSTANCE_NOT_FOUND|PROMOTE)/);
});

test.run();
