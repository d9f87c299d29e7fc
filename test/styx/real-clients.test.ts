// Real 9P2000.L clients from Debian's diod package against a node's tree: diodls lists / and
// /modules, diodcat reads /status and /modules/hello/status. A missing binary fails the test
// with "install diod" (test/helpers/diod.ts), never skips it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diodBinary, freePort, runTool } from '../helpers/diod.ts';
import { makeProject, startHost, type Project, type TestHost } from '../helpers/project.ts';

let project: Project;
let th: TestHost;
let addr: string;

test.before(async () => {
  const port = await freePort();
  addr = `127.0.0.1:${port}`;
  project = await makeProject({
    modules: {},
    copy: ['styx-root', 'hello', 'greeter'],
    role: ['styx-root', 'hello', 'greeter'],
    config: { modules: { 'styx-root': { listen: addr }, hello: { port: 0 } } },
  });
  th = await startHost(project);
  assert.is(th.host.instances.get('styx-root')?.state, 'active', `styx-root did not start: ${th.host.instances.get('styx-root')?.lastError?.message}`);
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const lines = (s: string) => s.split('\n').filter(Boolean).sort();

test('diodls lists / and /modules', async () => {
  const ls = diodBinary('diodls');
  const root = await runTool(ls, ['-s', addr, '-a', '/', '-t', '5', '/'], 8000);
  assert.is(root.code, 0, `diodls / failed: ${root.stderr}`);
  const top = lines(root.stdout);
  for (const name of ['ctl', 'failsafe', 'log', 'modules', 'status']) assert.ok(top.includes(name), `/ lists ${name}: ${top.join(' ')}`);
  const mods = await runTool(ls, ['-s', addr, '-a', '/', '-t', '5', 'modules'], 8000);
  assert.is(mods.code, 0, `diodls modules failed: ${mods.stderr}`);
  assert.equal(lines(mods.stdout), ['greeter', 'hello', 'styx-root']);
  const long = await runTool(ls, ['-l', '-s', addr, '-a', '/', '-t', '5', 'modules/hello'], 8000);
  assert.is(long.code, 0, `diodls -l modules/hello failed: ${long.stderr}`);
  const modes: Record<string, string> = { config: '-rw-rw-r--', ctl: '-rw-rw-r--', deps: '-r--r--r--', log: '-r--r--r--', 'log.follow': '-r--r--r--', 'log.query': '-rw-rw-r--', revisions: '-r--r--r--', status: '-r--r--r--' };
  for (const [name, mode] of Object.entries(modes)) assert.match(long.stdout, new RegExp(`^${mode}\\.? .* ${name}$`, 'm'), long.stdout);
});

test('diodcat reads /status and /modules/hello/status', async () => {
  const cat = diodBinary('diodcat');
  const st = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'status'], 8000);
  assert.is(st.code, 0, `diodcat status failed: ${st.stderr}`);
  assert.match(st.stdout, /^node test role test pid \d+ instances 3 key [0-9a-f]{64}$/m);
  for (const id of ['styx-root', 'hello', 'greeter']) assert.match(st.stdout, new RegExp(`^${id} active `, 'm'), st.stdout);
  const hello = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'modules/hello/status'], 8000);
  assert.is(hello.code, 0, `diodcat modules/hello/status failed: ${hello.stderr}`);
  assert.match(hello.stdout, /^id: hello$/m);
  assert.match(hello.stdout, /^state: active$/m);
  const deps = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'modules/hello/deps'], 8000);
  assert.is(deps.code, 0, deps.stderr);
  assert.match(deps.stdout, /^requires greeter@\^1 dynamic 1 as greeter -> greeter \(active\)$/m);
  const missing = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'modules/nosuch/status'], 8000);
  assert.ok(missing.code !== 0, 'a missing file fails');
});

test.run();
