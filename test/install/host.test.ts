// An installed module runs: a real Host whose moduleDirs include the store
// (<stateDir>/modules-store) discovers the installed versions, runs the one its role asks for
// (an HTTP answer that comes from the module's own dependency in its own node_modules), and the
// host's "is this folder in use" answer makes uninstall refuse the running version only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { installModule } from '../../core/install/install.ts';
import { MODULE_STORE_DIRNAME } from '../../core/install/store.ts';
import { uninstallModule } from '../../core/install/uninstall.ts';
import { freePort } from '../helpers/diod.ts';
import { closeAgent, get, makeProject, startHost, type Project, type TestHost } from '../helpers/project.ts';
import { fixture, moduleTarball, rejectsWith, type Fixture } from './helpers.ts';

let f: Fixture;
let project: Project;
let th: TestHost | undefined;

test.before(async () => {
  f = await fixture();
});

test.after(async () => {
  await th?.close();
  closeAgent();
  await project?.cleanup();
  await f?.cleanup();
});

test('a Host with the store in moduleDirs discovers and runs an installed module', async () => {
  const port = await freePort();
  project = await makeProject({
    modules: {},
    role: ['served@^1'],
    config: { moduleDirs: ['modules', `.cheshire/${MODULE_STORE_DIRNAME}`], modules: { served: { port } } },
  });
  const store = join(project.dir, '.cheshire', MODULE_STORE_DIRNAME);
  const opts = { storeDir: store, cache: f.cache, offline: true };
  const v1 = await installModule(await moduleTarball(f.root, 'served', '1.0.0'), opts);
  const v2 = await installModule(await moduleTarball(f.root, 'served', '2.0.0'), opts);
  th = await startHost(project);
  const inst = th.host.instances.get('served');
  assert.is(inst?.state, 'active', `served did not start: ${inst?.lastError?.message}`);
  assert.is(inst!.desc.dir, v1.dir, 'the role\'s range picked 1.0.0 of the two installed');
  const reply = await get(`http://127.0.0.1:${port}/`);
  assert.equal([reply.status, reply.body], [200, 'hi from dep, module v1.0.0\n'], 'answered through its own node_modules/dep');

  const inUse = (dir: string) => [...th!.host.instances.values()].some((i) => i.desc.dir === dir);
  await rejectsWith(uninstallModule(store, 'served', '1.0.0', inUse), 'CHS_ERR_INSTALL_IN_USE', 'the running version');
  const removed = await uninstallModule(store, 'served', '2.0.0', inUse);
  assert.equal(removed.map((m) => m.dir), [v2.dir], 'the idle version goes');
  assert.is((await get(`http://127.0.0.1:${port}/`)).body, 'hi from dep, module v1.0.0\n', 'still serving');
});

test.run();
