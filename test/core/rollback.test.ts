// Version history and rollback: every version that became active is recorded (start, save,
// ctl, rollback), refused and failed ones too; rollback makes an earlier version's exact files
// active again as a reload; a rollback whose version fails to start keeps the current version
// serving and puts its files back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const mod = (word: string, extra = '') => `// version ${word}
export function start() {
  ${extra}
  return { word: () => '${word}' };
}
`;

let project: Project;
let th: TestHost;

test.before(async () => {
  project = await makeProject({ modules: { w: { cheshire: { provides: ['word'] }, index: mod('one'), files: { 'lib/extra.ts': 'export const x = 1;\n' } } }, role: ['w'] });
  th = await startHost(project);
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const word = () => (th.host.instances.get('w')!.run!.service as { word(): string }).word();
const read = (rel: string) => readFile(project.modulePath('w', rel));

test('start and each saved version are recorded; rollback restores the previous version byte for byte', async () => {
  const v1 = { index: await read('index.ts'), pkg: await read('package.json'), extra: await read('lib/extra.ts') };
  await project.write('modules/w/index.ts', mod('two'));
  await project.write('modules/w/lib/extra.ts', 'export const x = 2;\n');
  await waitFor('version two', () => th.host.instances.get('w')?.run && word() === 'two');
  await waitFor('two history entries', async () => (await th.host.versions('w')).length >= 2);
  let h = await th.host.versions('w');
  assert.equal(h.map((e) => [e.source, e.outcome]).slice(0, 2), [['start', 'active'], ['save', 'active']]);

  const back = await th.host.rollback('w');
  assert.is(back.rev, 1);
  assert.is(word(), 'one');
  assert.ok((await read('index.ts')).equals(v1.index), 'index.ts is byte-identical to version one');
  assert.ok((await read('lib/extra.ts')).equals(v1.extra), 'lib/extra.ts is byte-identical to version one');
  assert.ok((await read('package.json')).equals(v1.pkg), 'package.json is byte-identical');
  h = await th.host.versions('w');
  const last = h.at(-1)!;
  assert.equal([last.source, last.outcome, last.contentId], ['rollback', 'active', h[0]!.contentId]);
  // the watcher sees the restored files but they are the active code: no second reload
  await new Promise((r) => setTimeout(r, 300));
  assert.is((await th.host.versions('w')).length, h.length);

  const forward = await th.host.rollback('w', 2);
  assert.is(forward.rev, 2);
  assert.is(word(), 'two');
});

test('a refused version is recorded; rolling back to a version that fails to start keeps the current one and its files', async () => {
  await project.write('modules/w/index.ts', mod('broken', "throw new Error('no start');"));
  const inst = th.host.instances.get('w')!;
  await waitFor('the failed reload', () => inst.lastError?.message.includes('no start'));
  await waitFor('version two serving again', () => inst.run && inst.state === 'active' && word() === 'two');
  const failed = await waitFor('the failed entry', async () => (await th.host.versions('w')).find((e) => e.outcome === 'failed'));
  assert.match(failed!.error ?? '', /no start/);

  await project.write('modules/w/index.ts', mod('three'));
  await waitFor('version three', () => inst.run && word() === 'three');
  const current = await read('index.ts');
  try {
    await th.host.rollback('w', failed!.rev);
    assert.unreachable('the rollback should fail');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_ROLLBACK');
    assert.match((err as Error).message, new RegExp(`rollback to rev ${failed!.rev} failed`));
  }
  await waitFor('version three serving', () => inst.run && inst.state === 'active' && word() === 'three');
  assert.ok((await read('index.ts')).equals(current), 'the current files are back');
});

test('rollback with no earlier version, or an unknown revision, is refused with CHS_ERR_HISTORY_NOT_FOUND', async () => {
  try {
    await th.host.rollback('w', 999);
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_HISTORY_NOT_FOUND');
  }
});

test.run();
