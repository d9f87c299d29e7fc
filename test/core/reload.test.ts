// Reload on save: in-place writes and rename-over saves reload the module, bursts coalesce into
// one reload, unchanged content does not reload, and a failed reload keeps the old version.
import { suite } from 'uvu';
import { mkdir } from 'node:fs/promises';
import * as assert from 'uvu/assert';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const mod = (word: string) => `
export function start(ctx: any) {
  return { word: () => '${word}' };
}
`;

const Reload = suite<{ project: Project; th: TestHost }>('reload');

Reload.before.each(async (ctx) => {
  ctx.project = await makeProject({ modules: { w: { cheshire: { provides: ['word'] }, index: mod('one') } }, role: ['w'] });
  ctx.th = await startHost(ctx.project);
});

Reload.after.each(async (ctx) => {
  await ctx.th.close();
  await ctx.project.cleanup();
});

const word = (th: TestHost) => (th.host.instances.get('w')!.run!.service as { word(): string }).word();
const reloads = (th: TestHost) => th.host.instances.get('w')!.reloads;

Reload('an in-place write reloads the module and logs name, version, hash and time', async ({ project, th }) => {
  assert.is(word(th), 'one');
  await project.write('modules/w/index.ts', mod('two'));
  await waitFor('the new version to serve "two"', () => th.host.instances.get('w')?.run && word(th) === 'two');
  const line = th.messages('w').find((m) => /reloaded/.test(m));
  assert.ok(line, 'a reload log line');
  assert.match(line!, /^w reloaded v1\.0\.0 #[0-9a-f]{12} in \d+ ms$/);
});

Reload('an atomic save (temp file renamed over) reloads the module', async ({ project, th }) => {
  await project.writeAtomic('modules/w/index.ts', mod('three'));
  await waitFor('the renamed-over version to serve "three"', () => th.host.instances.get('w')?.run && word(th) === 'three');
  assert.is(reloads(th), 1);
});

Reload('a burst of writes coalesces into one reload of the last content', async () => {
  // Its own project, with a debounce wider than the burst: ten writes, one reload, the last content.
  const project = await makeProject({ modules: { w: { cheshire: { provides: ['word'] }, index: mod('one') } }, role: ['w'], config: { watch: { enabled: true, debounceMs: 400 } } });
  const th = await startHost(project);
  try {
    const t0 = Date.now();
    for (let i = 0; i < 10; i++) await project.write('modules/w/index.ts', mod(`burst${i}`));
    const burstMs = Date.now() - t0;
    await waitFor('the last write to serve', () => th.host.instances.get('w')?.run && word(th) === 'burst9');
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(burstMs < 400, `the burst took ${burstMs} ms, longer than the debounce: the test proves nothing`);
    assert.is(reloads(th), 1, 'ten writes within the debounce make exactly one reload');
    assert.is(th.host.control.reloads('w').length, 1);
  } finally {
    await th.close();
    await project.cleanup();
  }
});

Reload('unchanged content does not reload', async ({ project, th }) => {
  await project.write('modules/w/index.ts', mod('one'));
  await project.write('modules/w/index.ts', mod('one') + '\n// a comment changes nothing esbuild emits\n');
  await waitFor('the change to be seen', () => th.logs.some((r) => r.msg.includes('content unchanged')), 3_000);
  assert.is(reloads(th), 0);
  assert.is(word(th), 'one');
});

Reload('a syntax error keeps the old version serving and shows the error', async ({ project, th }) => {
  await project.write('modules/w/index.ts', 'export function start( {');
  await waitFor('the refused reload to be recorded', () => th.host.instances.get('w')!.lastError);
  const inst = th.host.instances.get('w')!;
  assert.is(inst.state, 'active');
  assert.is(word(th), 'one');
  assert.match(inst.lastError!.code, 'CHS_ERR_MODULE_LOAD');
  assert.match(th.messages('w').join('\n'), /reload refused, v1\.0\.0 #[0-9a-f]+ keeps running/);
  await project.write('modules/w/index.ts', mod('fixed'));
  await waitFor('the fixed version to serve', () => th.host.instances.get('w')?.run && word(th) === 'fixed');
});

Reload('a throw in the new version\'s start restores the old version', async ({ project, th }) => {
  await project.write('modules/w/index.ts', `export function start() { throw new Error('new version is broken'); }`);
  await waitFor('the failed reload to be recorded', () => th.host.instances.get('w')!.lastError?.message.includes('new version is broken'));
  await waitFor('the old version to be active again', () => th.host.instances.get('w')!.state === 'active');
  assert.is(word(th), 'one');
  const err = th.host.instances.get('w')!.lastError!;
  assert.is(err.code, 'CHS_ERR_MODULE_START');
  assert.match(err.stack, /new version is broken/);
  assert.match(err.stack, /index\.ts/);
});

Reload('host.reload(id) restarts with fresh code even when unchanged', async ({ th }) => {
  await th.host.reload('w');
  assert.is(reloads(th), 1);
  assert.is(word(th), 'one');
});

Reload('test-before-activate: a version whose tests fail is refused; one whose tests pass goes live', async ({ project, th }) => {
  const pkg = { name: 'w', version: '1.0.0', type: 'module', cheshire: { provides: ['word'], test: { files: ['test/*.test.ts'], beforeActivate: true } } };
  await mkdir(project.modulePath('w', 'test'), { recursive: true });
  await project.write('modules/w/test/word.test.ts', `
import { start } from '../index.ts';
const w = (start({}) as { word(): string }).word();
if (w === 'bad') { console.error('word must not be bad'); process.exit(1); }
`);
  await project.write('modules/w/package.json', JSON.stringify(pkg));
  await waitFor('the descriptor change to be applied', () => th.host.instances.get('w')!.desc.test.beforeActivate);
  await project.write('modules/w/index.ts', mod('bad'));
  await waitFor('the refused reload', () => th.host.instances.get('w')!.lastError?.code === 'CHS_ERR_MODULE_TEST', 20_000);
  assert.match(th.host.instances.get('w')!.lastError!.message, /word must not be bad/);
  assert.is(word(th), 'one');
  await project.write('modules/w/index.ts', mod('good'));
  await waitFor('the tested version to serve', () => th.host.instances.get('w')?.run && word(th) === 'good', 20_000);
});

Reload.run();
