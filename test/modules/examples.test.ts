// The example modules on real HTTP: hello answers its literal and uses greeter dynamically;
// shout holds greeter statically. Saving hello reloads only hello, with no refused or failed
// request under continuous load; a greeter change restarts shout but not hello, and greeter's
// count survives its reload.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { closeAgent, get, makeProject, startHost, underLoad, waitFor, type Project, type TestHost } from '../helpers/project.ts';

let project: Project;
let th: TestHost;
const url = (id: string) => (th.host.instances.get(id)!.run!.service as { url?: () => string }).url?.() ?? '';

test.before(async () => {
  project = await makeProject({
    modules: {},
    copy: ['hello', 'greeter', 'shout'],
    role: ['hello', 'shout'],
    config: { modules: { hello: { port: 0 }, shout: { port: 0 } } },
  });
  th = await startHost(project);
});

test.after(async () => {
  closeAgent();
  await th?.close();
  await project?.cleanup();
});

test('hello answers its literal; greeter is planned automatically as the provider', async () => {
  assert.equal([...th.host.instances.keys()].sort(), ['greeter', 'hello', 'shout']);
  const r = await get(url('hello') + '/');
  assert.is(r.status, 200);
  assert.is(r.body, 'Hello from Cheshire\n');
  assert.is((await get(url('hello') + '/greet?name=Ada')).body, 'Hello, Ada!\n');
});

test('saving hello/index.ts reloads only hello, with zero failed requests under load', async () => {
  const others = ['greeter', 'shout'].map((id) => th.host.instances.get(id)!.run);
  const base = url('hello');
  const src = await readFile(project.modulePath('hello'), 'utf8');
  const { ok, failures } = await underLoad(
    4,
    async () => { const r = await get(base + '/'); return r.status === 200 || `status ${r.status}`; },
    async () => {
      for (let i = 1; i <= 15; i++) {
        const text = `Hello, edit ${i}`;
        await project.write('modules/hello/index.ts', src.replace("'Hello from Cheshire'", `'${text}'`));
        await waitFor(`GET / to answer "${text}"`, async () => (await get(base + '/')).body === `${text}\n`, 10_000, 2);
      }
    },
  );
  assert.equal(failures, [], 'no request failed or was refused');
  assert.ok(ok > 15, `requests were served during the reloads (${ok})`);
  assert.is(th.host.instances.get('hello')!.reloads, 15);
  assert.ok(others.every((run, i) => th.host.instances.get(['greeter', 'shout'][i]!)!.run === run), 'greeter and shout untouched');
  const line = th.messages('hello').find((m) => m.startsWith('hello reloaded'));
  assert.match(line!, /^hello reloaded v1\.0\.0 #[0-9a-f]{12} in \d+ ms$/);
});

test('a greeter config change restarts shout (static) but not hello (dynamic); greeter keeps its count', async () => {
  const helloRun = th.host.instances.get('hello')!.run;
  const shoutRun = th.host.instances.get('shout')!.run;
  await get(url('hello') + '/greet?name=x');
  const before = (th.host.instances.get('greeter')!.run!.service as { count(): number }).count();
  const rev = await th.host.configs.set('greeter', { greeting: 'Bonjour' });
  assert.ok(rev.rev >= 2, 'a new revision was recorded');
  assert.is((await get(url('hello') + '/greet?name=Ada')).body, 'Bonjour, Ada!\n');
  assert.ok(th.host.instances.get('hello')!.run === helloRun, 'hello was not restarted');
  assert.ok(th.host.instances.get('shout')!.run !== shoutRun, 'shout was restarted');
  assert.is(th.host.instances.get('shout')!.state, 'active');
  const after = (th.host.instances.get('greeter')!.run!.service as { count(): number }).count();
  assert.is(after, before + 1, 'the count was handed to the new greeter');
});

test.run();
