// The `cheshire` CLI as a child process against a node running in this test process: cat, ctl, status,
// reload, config set (a refused value exits non-zero with the schema error), config history,
// logs (ends by itself), `9p ls`, a port where nothing listens, and `ls --all` without a node.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../helpers/diod.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { makeProject, startHost, type Project, type TestHost } from '../helpers/project.ts';

let project: Project;
let th: TestHost;
let port: number;
let node: string;

test.before(async () => {
  port = await freePort();
  node = `127.0.0.1:${port}`;
  project = await makeProject({
    modules: {},
    copy: ['styx-root', 'hello', 'greeter'],
    role: ['styx-root', 'hello'],
    config: { modules: { 'styx-root': { listen: node }, hello: { port: 0 } } },
  });
  th = await startHost(project);
  assert.is(th.host.instances.get('styx-root')?.state, 'active', `styx-root did not start: ${th.host.instances.get('styx-root')?.lastError?.message}`);
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const cli = (args: string[], timeoutMs = 15_000) => cheshire(args, { timeoutMs });
const onNode = (...args: string[]) => cli([...args, '--node', node]);

test('cat prints a file of the tree; ctl writes a command to any ctl file and prints the answer', async () => {
  const cat = await onNode('cat', '/modules/hello/deps');
  assert.is(cat.code, 0, show(cat));
  assert.match(cat.stdout, /requires greeter@\^1 dynamic 1 as greeter -> greeter \(active\)/);
  const reloads = th.host.instances.get('hello')!.reloads;
  const ctl = await onNode('ctl', '/modules/hello/ctl', 'reload');
  assert.is(ctl.code, 0, show(ctl));
  assert.is(ctl.stdout, 'reloaded hello\n');
  assert.is(th.host.instances.get('hello')!.reloads, reloads + 1);
  const bad = await onNode('ctl', '/modules/hello/ctl', 'explode');
  assert.is(bad.code, 1, show(bad));
  assert.match(bad.stderr, /unknown command "explode"/);
});

test('status prints one line per instance', async () => {
  const r = await onNode('status');
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /^node test role test pid \d+ instances 3 key [0-9a-f]{64}$/m);
  for (const id of ['styx-root', 'hello', 'greeter']) assert.match(r.stdout, new RegExp(`^${id} active 1\\.0\\.0#[0-9a-f]+ `, 'm'), show(r));
});

test('reload hello prints "reloaded hello" and reloads it', async () => {
  const before = th.host.instances.get('hello')!.reloads;
  const r = await onNode('reload', 'hello');
  assert.is(r.code, 0, show(r));
  assert.is(r.stdout, 'reloaded hello\n');
  assert.is(th.host.instances.get('hello')!.reloads, before + 1);
  const bad = await onNode('reload', 'nosuch');
  assert.is(bad.code, 1, show(bad));
  assert.match(bad.stderr, /no instance "nosuch"/);
});

test('config set with a bad value exits non-zero naming greeter and /greeting; a good one applies; get and history', async () => {
  const badFile = join(project.dir, 'bad.json');
  const goodFile = join(project.dir, 'good.json');
  await writeFile(badFile, JSON.stringify({ greeting: '' }));
  await writeFile(goodFile, JSON.stringify({ greeting: 'Ahoy' }, null, 2) + '\n');
  const bad = await onNode('config', 'set', 'greeter', badFile);
  assert.is.not(bad.code, 0, show(bad));
  assert.match(bad.stderr, /greeter/, show(bad));
  assert.match(bad.stderr, /\/greeting/, show(bad));
  assert.is(th.host.instances.get('greeter')!.config.greeting, 'Hello', 'nothing applied');

  const good = await onNode('config', 'set', 'greeter', goodFile);
  assert.is(good.code, 0, show(good));
  assert.is(good.stdout, 'config of greeter applied\n');
  assert.is(th.host.instances.get('greeter')!.config.greeting, 'Ahoy');

  const get = await onNode('config', 'get', 'greeter');
  assert.is(get.code, 0, show(get));
  assert.equal(JSON.parse(get.stdout), { greeting: 'Ahoy' });

  const history = await onNode('config', 'history', 'greeter');
  assert.is(history.code, 0, show(history));
  assert.match(history.stdout, /^1 \S+ start$/m, history.stdout);
  assert.match(history.stdout, /^2 \S+ api$/m, history.stdout);
  assert.match(history.stdout, /Ahoy/);
  assert.not.match(history.stdout, /^3 /m, 'the refused value made no revision');

  const revert = await onNode('config', 'revert', 'greeter', '1');
  assert.is(revert.code, 0, show(revert));
  assert.is(revert.stdout, 'config of greeter is revision 3 (reverted to 1)\n');
  assert.is(th.host.instances.get('greeter')!.config.greeting, 'Hello');
});

test('logs greeter prints its recent lines and exits by itself', async () => {
  const r = await onNode('logs', 'greeter');
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /greeter/);
  assert.match(r.stdout, /config revision \d+ applied/, r.stdout);
});

test('9p ls HOST:PORT /modules: the general client lists the node tree', async () => {
  const r = await cli(['9p', 'ls', node, '/modules']);
  assert.is(r.code, 0, show(r));
  const names = r.stdout.split('\n').filter(Boolean).map((l) => l.split(' ').at(-1));
  assert.equal(names.sort(), ['greeter/', 'hello/', 'styx-root/']);
  assert.match(r.stdout, /^dr-xr-xr-x /m);
  const cat = await cli(['9p', 'cat', node, '/modules/hello/status']);
  assert.is(cat.code, 0, show(cat));
  assert.match(cat.stdout, /^state: active$/m);
});

test('a port where nothing listens: exit 1 and "no Cheshire node is listening on"', async () => {
  const dead = await freePort();
  const [status, reload] = await Promise.all([cli(['status', '--node', `127.0.0.1:${dead}`]), cli(['reload', 'hello', '--node', `127.0.0.1:${dead}`])]);
  for (const r of [status, reload]) {
    assert.is(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`no Cheshire node is listening on 127\\.0\\.0\\.1:${dead}`), show(r));
    assert.is(r.stdout, '');
  }
});

test('ls --all --config FILE lists the modules from their descriptors, without a node', async () => {
  const r = await cli(['ls', '--all', '--config', project.configFile, '--node', '127.0.0.1:1']);
  assert.is(r.code, 0, show(r));
  for (const m of ['styx-root', 'hello', 'greeter']) assert.match(r.stdout, new RegExp(`^${m}@1\\.0\\.0 `, 'm'), r.stdout);
  assert.match(r.stdout, /provides: greeter/);
  assert.match(r.stdout, /requires: greeter@\^1 dynamic 1/);
  const json = await cli(['ls', '--all', '--json', '--config', project.configFile]);
  assert.is(json.code, 0, show(json));
  const parsed = JSON.parse(json.stdout) as { modules: Array<{ name: string }> };
  assert.equal(parsed.modules.map((m) => m.name).sort(), ['greeter', 'hello', 'styx-root']);
});

test.run();
