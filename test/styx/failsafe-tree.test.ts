// The failsafe node's own 9P tree: when the configured start-up fails as a whole, the minimal set
// (styx-root) serves /failsafe (code, message, stack naming the module's file), /status says
// failsafe, the tree's ctl refuses steering what does not run; fixing the module on disk boots
// the role, and /failsafe empties — all read through our 9P client, the node never restarted.
import { freePort } from '../../base/free-port.ts';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '../../fs/client/client.ts';
import { RemoteError } from '../../fs/errors.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const F = suite<{ project: Project; th: TestHost; client: Client; port: number }>('failsafe tree');

F.before(async (ctx) => {
  ctx.port = await freePort();
  ctx.project = await makeProject({
    modules: {
      core: { index: `export function start() {\n  throw new Error('core is broken');\n}\n` },
      app: { index: 'export function start() { return {}; }\n' },
    },
    copy: ['styx-root'],
    role: ['styx-root', 'core', 'app'],
    required: ['core'],
    config: { modules: { 'styx-root': { listen: `127.0.0.1:${ctx.port}` } } },
  });
  // The minimal set of this project: the control tree alone.
  await ctx.project.write('config/roles/failsafe.json', JSON.stringify({ modules: ['styx-root'] }));
  ctx.th = await startHost(ctx.project);
  ctx.client = await Client.connect({ host: '127.0.0.1', port: ctx.port, version: '9P2000.L' });
  await ctx.client.attach({ uname: 'test' });
});

F.after(async (ctx) => {
  await ctx.client?.close();
  await ctx.th?.close();
  await ctx.project?.cleanup();
});

const read = async (c: Client, path: string) => (await c.readFile(path)).toString('utf8');

F('in failsafe, /failsafe and /status show the error; only the control tree runs', async ({ th, client, port }) => {
  assert.ok(th.host.failsafe, 'the node is in failsafe');
  const text = await read(client, '/failsafe');
  assert.match(text, /^CHS_ERR_\w+: .*required instance core did not start/);
  assert.match(text, /core is broken/);
  assert.match(text, /modules\/core\/index\.ts:2:\d+/, 'the stack names the module file and line');
  const status = await read(client, '/status');
  assert.match(status, /^FAILSAFE CHS_ERR_\w+: /m);
  assert.not.match(status, /(CHS_ERR_\w+): \1:/, 'the code is printed once');
  const mods = (await client.ls('/modules')).map((e) => e.name).sort();
  assert.equal(mods, ['styx-root'], 'only the minimal set runs');
  // 9P2000.u carries the error's text (.L only an errno).
  const u = await Client.connect({ host: '127.0.0.1', port, version: '9P2000.u' });
  try {
    await u.attach({ uname: 'test' });
    await u.writeFile('/ctl', 'reload app\n', { create: false, truncate: false });
    assert.unreachable('steering an instance that does not run must fail');
  } catch (err) {
    assert.instance(err, RemoteError);
    assert.match((err as RemoteError).ename, /CHS_ERR_INSTANCE_NOT_FOUND: no instance "app"/, (err as RemoteError).ename);
  } finally {
    await u.close();
  }
});

F('fixing the module on disk boots the role; /failsafe empties and the modules appear', async ({ project, th, port }) => {
  await project.write('modules/core/index.ts', 'export function start() { return {}; }\n');
  await waitFor('the role to boot', () => th.host.failsafe === null && th.host.instances.get('app')?.state === 'active', 15_000);
  // styx-root restarted with the role: a new connection sees the booted tree.
  const c = await Client.connect({ host: '127.0.0.1', port, version: '9P2000.L' });
  try {
    await c.attach({ uname: 'test' });
    assert.is(await read(c, '/failsafe'), '');
    const mods = (await c.ls('/modules')).map((e) => e.name).sort();
    assert.equal(mods, ['app', 'core', 'styx-root']);
  } finally {
    await c.close();
  }
});

F.run();
