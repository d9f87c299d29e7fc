// `cheshire install` into a running node's store, then `enable` runs it from there; `installed`
// lists it; `uninstall` is refused while the node runs it and works once it is disabled.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createModule } from '../../core/cli/new.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';

let styx: StyxNode;
let src: string;

test.before(async () => {
  styx = await startStyxNode({ role: [] });
  src = await mkdtemp(join(tmpdir(), 'chs-install-src-'));
  await createModule('tally', { configFile: styx.project.configFile, dir: src });
});

test.after(async () => {
  await styx?.close();
  if (src) await rm(src, { recursive: true, force: true });
});

// install/installed/uninstall work on the node's store (found through --config, its cheshire.json);
// enable/disable talk to the node (where --config would be the new instance's own config).
const local = (...args: string[]) => cheshire([...args, '--config', styx.project.configFile, '--node', `127.0.0.1:${styx.port}`], { timeoutMs: 60_000 });
const remote = (...args: string[]) => cheshire([...args, '--node', `127.0.0.1:${styx.port}`]);

test('install a folder, enable it on the running node, uninstall refused while it runs', async () => {
  let r = await local('install', join(src, 'tally'));
  assert.is(r.code, 0, show(r));
  const store = join(styx.project.dir, '.cheshire/modules-store/tally@0.1.0');
  assert.match(r.stdout, `installed tally@0.1.0 in ${store}`);
  assert.match(r.stdout, 'npx cheshire enable tally');
  r = await local('installed');
  assert.match(r.stdout, /^tally@0\.1\.0 /m);

  r = await remote('enable', 'tally');
  assert.is(r.code, 0, show(r));
  const inst = styx.th.host.instances.get('tally')!;
  assert.is(inst.state, 'active');
  assert.is(inst.desc.dir, store);

  r = await local('uninstall', 'tally');
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /CHS_ERR_INSTALL_IN_USE/);
  r = await remote('disable', 'tally');
  assert.is(r.code, 0, show(r));
  r = await local('uninstall', 'tally@0.1.0');
  assert.is(r.code, 0, show(r));
  assert.is(r.stdout, 'uninstalled tally@0.1.0\n');
});

test('install through the tree: `install SPEC` on /ctl lands it in the node\'s store; enable runs it', async () => {
  await createModule('counter', { configFile: styx.project.configFile, dir: src });
  let r = await remote('ctl', '/ctl', 'install', join(src, 'counter'));
  assert.is(r.code, 0, show(r));
  const store = join(styx.project.dir, '.cheshire/modules-store/counter@0.1.0');
  assert.match(r.stdout, `installed counter@0.1.0 in ${store}`);
  r = await remote('enable', 'counter');
  assert.is(r.code, 0, show(r));
  assert.is(styx.th.host.instances.get('counter')!.desc.dir, store);
  r = await remote('ctl', '/ctl', 'uninstall', 'counter');
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /CHS_ERR_INSTALL_IN_USE/);
  r = await remote('disable', 'counter');
  r = await remote('ctl', '/ctl', 'uninstall', 'counter@0.1.0');
  assert.is(r.code, 0, show(r));
  assert.is(r.stdout, 'uninstalled counter@0.1.0\n');
  r = await remote('ctl', '/ctl', 'install', join(src, 'nothing-here'));
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /nothing-here/);
});

test.run();
