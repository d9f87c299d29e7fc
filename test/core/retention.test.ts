// What a node keeps on disk stays bounded: config revisions are pruned to cheshire.json's
// `revisions` retention (count and age) but never the current one or a pinned one; the temp files
// a killed writer left behind are removed at start-up, a live writer's are not.
import { mkdtemp, readdir, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RevisionStore } from '../../core/config/revisions.ts';
import { sweepDebris } from '../../core/config/debris.ts';
import { makeProject, startHost } from '../helpers/project.ts';

const R = suite<{ dir: string }>('retention');

R.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'chs-ret-'));
});
R.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

const revs = async (store: RevisionStore, id: string) => (await store.list(id)).map((r) => r.rev);

R('prune keeps the newest `keep`, the latest and pinned ones', async ({ dir }) => {
  const store = new RevisionStore(dir);
  for (let i = 1; i <= 12; i++) await store.record('web', { port: 8000 + i }, 'api');
  assert.equal(await store.pin('web', 2), [2]);
  const report = await store.prune('web', { keep: 3, maxAgeDays: 0 });
  assert.equal(report.removed, [1, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(await revs(store, 'web'), [2, 10, 11, 12]);
  assert.is((await store.list('web')).find((r) => r.rev === 2)!.pinned, true);
  const next = await store.record('web', { port: 9999 }, 'api');
  assert.is(next.rev, 13, 'numbering goes on after a prune');
  await store.pin('web', 2, false);
  await store.prune('web', { keep: 1, maxAgeDays: 0 });
  assert.equal(await revs(store, 'web'), [13], 'unpinned, it goes; the latest always stays');
  try {
    await store.pin('web', 5);
    assert.unreachable('a revision that is gone cannot be pinned');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_REVISION_NOT_FOUND');
  }
});

R('prune drops revisions older than maxAgeDays, never the latest', async ({ dir }) => {
  const store = new RevisionStore(dir);
  for (let i = 1; i <= 4; i++) await store.record('a', { n: i }, 'api');
  const later = Date.now() + 10 * 86_400_000;
  const report = await store.prune('a', { keep: 100, maxAgeDays: 5 }, later);
  assert.equal(report.removed, [1, 2, 3]);
  assert.equal(await revs(store, 'a'), [4]);
});

R('the start-up sweep removes dead writers\' temp files and leaves live ones', async ({ dir }) => {
  // A pid that existed and is gone: a child that has exited.
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  await mkdir(join(dir, 'revisions', 'web'), { recursive: true });
  const deadTemp = join(dir, 'revisions', 'web', `.000007.json.${dead}.a1b2c3d4e5f6.tmp`);
  const liveTemp = join(dir, `.status.json.${process.pid}.0123456789ab.tmp`);
  const notTemp = join(dir, 'revisions', 'web', '000001.json');
  for (const f of [deadTemp, liveTemp, notTemp]) await writeFile(f, '{}');
  const result = await sweepDebris([{ dir, depth: 4 }]);
  assert.equal(result.removed, [deadTemp]);
  assert.equal((await readdir(join(dir, 'revisions', 'web'))).sort(), ['000001.json']);
  assert.equal((await readdir(dir)).filter((n) => n.endsWith('.tmp')), [`.status.json.${process.pid}.0123456789ab.tmp`]);
});

R('a host prunes at start and after each change; pins hold; debris goes at start', async () => {
  const project = await makeProject({
    modules: { web: { cheshire: { config: { schema: { type: 'object', properties: { port: { type: 'integer' } } }, defaults: { port: 1 } } }, index: 'export function start() { return {}; }' } },
    role: ['web'],
    config: { revisions: { keep: 3, maxAgeDays: 0 } },
  });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const revDir = join(project.dir, '.cheshire', 'revisions', 'web');
  try {
    // Leftovers of an earlier, killed node: 8 revisions and a temp file of a dead writer.
    const old = new RevisionStore(join(project.dir, '.cheshire', 'revisions'));
    for (let i = 1; i <= 8; i++) await old.record('web', { port: i }, 'api');
    await old.pin('web', 1);
    const temp = join(revDir, `.000009.json.${dead}.ffffffffffff.tmp`);
    await writeFile(temp, '{"half');
    await utimes(temp, new Date(0), new Date(0));
    const th = await startHost(project, { watch: false });
    try {
      const listed = () => th.host.control.revisions('web').then((l) => l.map((r) => r.rev));
      const names = await readdir(revDir);
      assert.not.ok(names.some((n) => n.endsWith('.tmp')), `the dead writer's temp file is gone: ${names}`);
      const atStart = await listed();
      assert.ok(atStart.includes(1), 'pinned revision kept');
      assert.equal(atStart, [1, 7, 8, 9], "pruned at start (after the start revision) to the newest 3 + the pinned one");
      for (let p = 100; p < 106; p++) await th.host.control.setConfig('web', { port: p });
      const after = await listed();
      assert.is(after.length, 4, `3 newest + the pinned one: ${after}`);
      assert.is(after[0], 1);
      assert.is((await th.host.control.revisions('web')).at(-1)!.config.port, 105, 'the current revision is the last');
      assert.equal(await th.host.control.pinRevision('web', after[1]!, true), [1, after[1]!]);
    } finally {
      await th.close();
    }
  } finally {
    await project.cleanup();
  }
});

R.run();
