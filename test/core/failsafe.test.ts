// Failsafe mode: when the configured start-up fails as a whole (unreadable config, a required
// instance that does not start, an unknown role, a dependency cycle) the host stays up with the
// error and its stack, runs nothing, and boots as soon as the cause is fixed on disk.
import { readFile } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers/project.ts';
import { inst, plain, scope } from '../helpers/extra.ts';

const F = suite('failsafe');
const t = scope();

F.after.each(() => t.cleanup());

F('invalid JSON in cheshire.json: failsafe with the file named; a corrected file boots without a restart', async () => {
  const project = await t.project({ modules: { app: { index: plain } }, role: ['app'] });
  const good = await readFile(project.configFile, 'utf8');
  await project.write('cheshire.json', good.replace('"node": "test",', '"node": "test"'));
  const th = await t.host(project);

  const fs = th.host.failsafe;
  assert.ok(fs, 'failsafe mode');
  assert.is(fs!.code, 'CHS_ERR_CONFIG_PARSE');
  assert.match(fs!.message, project.configFile, 'names the file');
  const status = th.host.status();
  assert.ok(status.failsafe?.stack, 'status carries a stack');
  assert.match(status.failsafe!.stack, 'CHS_ERR_CONFIG_PARSE');
  assert.is(status.instances.length, 0, 'no instances');

  await project.write('cheshire.json', good);
  await waitFor('the host to boot from the corrected file', () => th.host.failsafe === null && th.host.instances.get('app')?.state === 'active');
  assert.is(th.host.status().failsafe, null);
});

F('a required instance whose start throws: failsafe with its message and stack; fixing the module boots', async () => {
  const project = await t.project({
    modules: {
      core: { index: `export function start() { throw new Error('core is broken'); }` },
      extra: { index: plain },
    },
    role: ['core', 'extra'],
    required: ['core'],
  });
  const th = await t.host(project);

  const fs = th.host.failsafe;
  assert.ok(fs, 'failsafe mode');
  assert.match(fs!.message, /\bcore\b/);
  assert.match(fs!.message, 'core is broken');
  assert.match(fs!.stack, 'core is broken');
  assert.match(fs!.stack, /modules[\\/]core[\\/]index\.ts/, "the module's own frame");
  assert.ok(th.host.status().instances.every((i) => i.state !== 'active'), 'nothing runs in failsafe mode');

  await project.write('modules/core/index.ts', `export function start() { return { fixed: true }; }`);
  await waitFor('the node to come up', () => th.host.failsafe === null && th.host.instances.get('core')?.state === 'active');
  assert.equal(inst(th, 'core').run!.service, { fixed: true });
  assert.is(inst(th, 'extra').state, 'active');
});

F('an unknown role: failsafe with CHS_ERR_ROLE_NOT_FOUND', async () => {
  const project = await t.project({ modules: { app: { index: plain } }, role: ['app'], config: { role: 'nope' } });
  const th = await t.host(project);
  assert.is(th.host.failsafe?.code, 'CHS_ERR_ROLE_NOT_FOUND');
  assert.match(th.host.failsafe!.message, '"nope"');
  assert.is(th.host.instances.size, 0);
});

F('a dependency cycle: failsafe spelling out the cycle', async () => {
  const project = await t.project({
    modules: {
      a: { cheshire: { provides: ['sa'], requires: [{ service: 'sb' }] }, index: plain },
      b: { cheshire: { provides: ['sb'], requires: [{ service: 'sa' }] }, index: plain },
    },
    role: ['a', 'b'],
  });
  const th = await t.host(project);
  assert.is(th.host.failsafe?.code, 'CHS_ERR_DEP_CYCLE');
  assert.match(th.host.failsafe!.message, 'a -> b -> a');
  assert.ok(th.host.status().instances.every((i) => i.state !== 'active'), 'nothing runs');
});

F.run();
