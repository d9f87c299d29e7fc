// `cheshire config set M KEY=VALUE...` as a child process against a node running in this test
// process (a module made by `cheshire new`): keys change the effective config in one revision,
// `KEY=` brings the default back, a value the schema refuses exits non-zero with
// CHS_ERR_CONFIG_INVALID naming the key; arguments that are not FILE, - or KEY=VALUE, or a mix,
// are refused. The parsing and merging rules, table-driven.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyAssignments, parseAssignment } from '../../core/cli/remote.ts';
import { createModule } from '../../core/cli/new.ts';
import { freePort } from '../helpers/diod.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { closeAgent, get, makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

let project: Project;
let th: TestHost;
let node: string;

test.before(async () => {
  node = `127.0.0.1:${await freePort()}`;
  project = await makeProject({
    modules: {},
    copy: ['styx-root'],
    role: ['styx-root', 'hi'],
    config: { modules: { 'styx-root': { listen: node } } },
  });
  await createModule('hi', { configFile: project.configFile, dir: join(project.dir, 'modules') });
  th = await startHost(project);
  for (const id of ['styx-root', 'hi']) assert.is(th.host.instances.get(id)?.state, 'active', `${id} did not start: ${th.host.instances.get(id)?.lastError?.message}`);
});

test.after(async () => {
  closeAgent();
  await th?.close();
  await project?.cleanup();
});

const cli = (args: string[]) => cheshire([...args, '--node', node]);
const config = () => th.host.instances.get('hi')!.config;
const revisions = async () => (await cli(['config', 'history', 'hi'])).stdout.split('\n').filter((l) => /^\d+ /.test(l)).length;

test('config set hi port=P greeting=Bonjour: one revision, the effective config changes, the module answers on P', async () => {
  const before = await revisions();
  const port = await freePort();
  const r = await cli(['config', 'set', 'hi', `port=${port}`, 'greeting=Bonjour']);
  assert.is(r.code, 0, show(r));
  assert.is(r.stdout, `config of hi applied: port=${port}, greeting="Bonjour"\n`);
  assert.equal(config(), { host: '127.0.0.1', port, greeting: 'Bonjour' });
  assert.equal(await get(`http://127.0.0.1:${port}/`), { status: 200, body: 'Bonjour, world!\n' });
  assert.is(await revisions(), before + 1);
  const history = await cli(['config', 'history', 'hi']);
  assert.match(history.stdout, new RegExp(`^${before + 1} \\S+ api$`, 'm'), history.stdout);
  const saved = JSON.parse(await readFile(project.configFile, 'utf8')) as { modules: Record<string, Record<string, unknown>> };
  assert.is(saved.modules.hi!.port, port);
  assert.is(saved.modules.hi!.greeting, 'Bonjour');

  // KEY= removes the key: the default comes back.
  const reset = await cli(['config', 'set', 'hi', 'greeting=']);
  assert.is(reset.code, 0, show(reset));
  assert.is(reset.stdout, 'config of hi applied: greeting removed\n');
  assert.equal(config(), { host: '127.0.0.1', port, greeting: 'Hello' });
  await waitFor('the default greeting', async () => (await get(`http://127.0.0.1:${port}/`)).body === 'Hello, world!\n');
});

test('a value the schema refuses: exit 1, CHS_ERR_CONFIG_INVALID naming hi and /port; nothing applied, no revision', async () => {
  const before = { config: { ...config() }, revisions: await revisions() };
  for (const [arg, key] of [['port=eighty', '/port'], ['port=70000', '/port'], ['greeting=""', '/greeting']] as const) {
    const r = await cli(['config', 'set', 'hi', arg]);
    assert.is(r.code, 1, show(r));
    assert.match(r.stderr, /CHS_ERR_CONFIG_INVALID/, show(r));
    assert.match(r.stderr, /\bhi\b/, show(r));
    assert.match(r.stderr, key, show(r));
  }
  const unknown = await cli(['config', 'set', 'hi', 'colour=red']);
  assert.is(unknown.code, 1, show(unknown));
  assert.match(unknown.stderr, /CHS_ERR_CONFIG_INVALID.*unknown key "colour"/, show(unknown));
  assert.equal(config(), before.config);
  assert.is(await revisions(), before.revisions);
});

test('refused before reaching the node: a word that is no file, - or KEY=VALUE; a FILE mixed with KEY=VALUE', async () => {
  const file = join(project.dir, 'hi.json');
  await writeFile(file, JSON.stringify({ greeting: 'Hey' }));
  const word = await cli(['config', 'set', 'hi', 'greeting=Hey', 'nonsense']);
  assert.is(word.code, 1, show(word));
  assert.match(word.stderr, /"nonsense" is neither a file, - \(stdin\), nor KEY=VALUE/);
  const mixed = await cli(['config', 'set', 'hi', file, 'port=1']);
  assert.is(mixed.code, 1, show(mixed));
  assert.match(mixed.stderr, /not a mix/);
  const bad = await cli(['config', 'set', 'hi', '=1']);
  assert.is(bad.code, 1, show(bad));
  assert.match(bad.stderr, /"=1" is not KEY=VALUE/);
  assert.is(config().greeting, 'Hello', 'nothing applied');
  // A FILE alone still works as before.
  const ok = await cli(['config', 'set', 'hi', file]);
  assert.is(ok.code, 0, show(ok));
  assert.is(ok.stdout, 'config of hi applied\n');
  assert.is(config().greeting, 'Hey');
});

test('parseAssignment: JSON when it parses, else a string; KEY= removes; bad keys refused', () => {
  const v = (arg: string) => parseAssignment(arg).value;
  assert.is(v('port=8085'), 8085);
  assert.is(v('debug=true'), true);
  assert.equal(v('tags=["a"]'), ['a']);
  assert.is(v('greeting=Bonjour'), 'Bonjour');
  assert.is(v('greeting=Bonjour, Ada'), 'Bonjour, Ada');
  assert.is(v('id="42"'), '42');
  assert.is(v('url=http://x/?a=b'), 'http://x/?a=b', 'only the first = splits');
  assert.is(v('x=null'), null);
  assert.equal(parseAssignment('limits.max=3'), { key: 'limits.max', path: ['limits', 'max'], value: 3 });
  assert.equal(parseAssignment('greeting='), { key: 'greeting', path: ['greeting'] });
  for (const bad of ['=1', 'a..b=1', '.a=1', '__proto__.x=1', 'a.constructor=1', 'nokey']) {
    assert.throws(() => parseAssignment(bad), (e: Error) => e.message.includes(`"${bad}" is not KEY=VALUE`), bad);
  }
});

test('applyAssignments: sets, nests, removes, in order, on a copy', () => {
  const base = { port: 1, limits: { max: 2, min: 0 }, tags: ['a'] };
  const set = (...args: string[]) => applyAssignments(base, args.map(parseAssignment));
  assert.equal(set('port=2', 'greeting=Hi'), { port: 2, limits: { max: 2, min: 0 }, tags: ['a'], greeting: 'Hi' });
  assert.equal(set('limits.max=3', 'deep.a.b=true'), { port: 1, limits: { max: 3, min: 0 }, tags: ['a'], deep: { a: { b: true } } });
  assert.equal(set('limits.min=', 'port=', 'gone.x='), { limits: { max: 2 }, tags: ['a'] });
  assert.equal(set('port=5', 'port='), { limits: { max: 2, min: 0 }, tags: ['a'] });
  assert.equal(base, { port: 1, limits: { max: 2, min: 0 }, tags: ['a'] }, 'the input is untouched');
  assert.throws(() => set('port.x=1'), /port\.x: port is 1, not an object/);
  assert.throws(() => set('tags.0=b'), /tags\.0: tags is \["a"\], not an object/);
});

test.run();
