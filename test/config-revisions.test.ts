import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheshireError } from '../core/errors.ts';
import { RevisionStore, encodeInstanceId } from '../core/config/revisions.ts';
import { diffJson, formatDiff, jsonEqual } from '../core/config/diff.ts';

const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'chs-revs-'));
  dirs.push(d);
  return d;
}

test.after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const ID = 'http#2@1.4.0';

test('numbering starts at 1, files are <encoded id>/<6 digits>.json', async () => {
  const dir = await tempDir();
  const store = new RevisionStore(dir);
  assert.is(await store.latest(ID), undefined);
  assert.equal(await store.list(ID), []);

  const r1 = await store.record(ID, { port: 8080 }, 'start');
  const r2 = await store.record(ID, { port: 8081 }, 'api', 'bump port');
  const r3 = await store.record(ID, { port: 8082 }, 'file');
  assert.equal([r1.rev, r2.rev, r3.rev], [1, 2, 3]);
  assert.is(r2.note, 'bump port');
  assert.not.ok('note' in r1, 'no note key when none given');
  assert.ok(!Number.isNaN(Date.parse(r1.at)) && r1.at.endsWith('Z'), `ISO time: ${r1.at}`);

  assert.is(encodeInstanceId(ID), 'http%232%401.4.0');
  assert.equal(await readdir(dir), ['http%232%401.4.0']);
  assert.equal(await readdir(join(dir, 'http%232%401.4.0')), ['000001.json', '000002.json', '000003.json']);
  const onDisk = JSON.parse(await readFile(join(dir, 'http%232%401.4.0', '000002.json'), 'utf8'));
  assert.equal(onDisk, r2);

  // A fresh store on the same directory continues the numbering.
  const again = new RevisionStore(dir);
  assert.equal(await again.latest(ID), r3);
  assert.is((await again.record(ID, { port: 9000 }, 'revert')).rev, 4);
});

test('ids are kept apart and encoded safely', async () => {
  const dir = await tempDir();
  const store = new RevisionStore(dir);
  for (const id of ['a/b', '..', '.hidden', 'x*y', 'a b#1@2']) {
    await store.record(id, { id }, 'start');
    assert.is((await store.latest(id))?.config.id, id);
  }
  const names = (await readdir(dir)).sort();
  assert.ok(names.every((n) => !n.startsWith('.') && !n.includes('/') && !n.includes('*')), names.join(' '));
  assert.is(names.length, 5);
  try {
    await store.record('', {}, 'api');
    assert.unreachable();
  } catch (err) {
    assert.instance(err, TypeError);
  }
});

test('an identical config is not recorded again', async () => {
  const dir = await tempDir();
  const store = new RevisionStore(dir);
  const r1 = await store.record(ID, { a: 1, nested: { b: [1, 2] } }, 'start');
  // Same value, other key order, an undefined-valued key (JSON drops it): still the same config.
  const same = await store.record(ID, { nested: { b: [1, 2] }, a: 1, gone: undefined }, 'api', 'no-op');
  assert.equal(same, r1);
  assert.is((await store.list(ID)).length, 1);
  const r2 = await store.record(ID, { a: 1, nested: { b: [2, 1] } }, 'api');
  assert.is(r2.rev, 2);
  // Going back to an earlier config is a new revision (only the latest is compared).
  const r3 = await store.record(ID, { a: 1, nested: { b: [1, 2] } }, 'revert', 'back to 1');
  assert.is(r3.rev, 3);
});

test('the stored config is a copy, not the caller\'s object', async () => {
  const store = new RevisionStore(await tempDir());
  const cfg = { list: [1] };
  const r = await store.record(ID, cfg, 'api');
  cfg.list.push(2);
  assert.equal(r.config, { list: [1] });
  assert.equal((await store.get(ID, 1)).config, { list: [1] });
});

test('concurrent records get distinct, gapless numbers', async () => {
  const dir = await tempDir();
  const store = new RevisionStore(dir);
  const other = new RevisionStore(dir); // a second object on the same directory shares the lock
  const results = await Promise.all(
    Array.from({ length: 30 }, (_, i) => (i % 2 ? store : other).record(ID, { n: i }, 'api')),
  );
  const revs = results.map((r) => r.rev).sort((a, b) => a - b);
  assert.equal(revs, Array.from({ length: 30 }, (_, i) => i + 1));
  const listed = await store.list(ID);
  assert.is(listed.length, 30);
  // Every recorded config is on disk under the number it was given.
  for (const r of results) assert.equal((await store.get(ID, r.rev)).config, r.config);

  // Concurrent identical configs collapse into one revision.
  const same = await Promise.all(Array.from({ length: 5 }, () => store.record('other', { x: 1 }, 'api')));
  assert.ok(same.every((r) => r.rev === 1), same.map((r) => r.rev).join(','));
  assert.is((await store.list('other')).length, 1);
});

test('list is ascending by number, also past 9 and with gaps', async () => {
  const dir = await tempDir();
  const store = new RevisionStore(dir);
  for (let i = 1; i <= 12; i++) await store.record(ID, { i }, 'api');
  const all = await store.list(ID);
  assert.equal(all.map((r) => r.rev), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.equal(all.map((r) => r.config.i), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  await rm(join(dir, encodeInstanceId(ID), '000005.json'));
  assert.equal((await store.list(ID)).map((r) => r.rev), [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]);
  assert.is((await store.latest(ID))?.rev, 12);
});

test('get of a missing revision: CHS_ERR_REVISION_NOT_FOUND naming id and rev', async () => {
  const store = new RevisionStore(await tempDir());
  await store.record(ID, { a: 1 }, 'start');
  await store.record(ID, { a: 2 }, 'api');
  assert.equal((await store.get(ID, 2)).config, { a: 2 });
  const cases: Array<[string, number, RegExp]> = [
    [ID, 7, /^CHS_ERR_REVISION_NOT_FOUND: instance "http#2@1\.4\.0" has no revision 7 \(it has 1\.\.2\)$/],
    [ID, 0, /instance "http#2@1\.4\.0" has no revision 0/],
    [ID, 1.5, /has no revision 1\.5/],
    ['nobody', 1, /^CHS_ERR_REVISION_NOT_FOUND: instance "nobody" has no revision 1 \(it has no revisions\)$/],
  ];
  for (const [id, rev, re] of cases) {
    try {
      await store.get(id, rev);
      assert.unreachable(`get(${id}, ${rev}) should throw`);
    } catch (err) {
      assert.instance(err, CheshireError);
      assert.is((err as CheshireError).code, 'CHS_ERR_REVISION_NOT_FOUND');
      assert.match((err as Error).message, re);
    }
  }
});

test('diffJson: JSON-pointer paths and kinds', () => {
  const before = { port: 8080, host: 'a', tls: { on: false }, list: [1, 2, 3], 'a/b': 1, 'c~d': 1 };
  const after = { port: 8081, tls: { on: true, cert: 'x.pem' }, list: [1, 5], x: true, 'a/b': 2, 'c~d': 1 };
  assert.equal(diffJson(before, after), [
    { path: '/port', before: 8080, after: 8081, kind: 'changed' },
    { path: '/host', before: 'a', kind: 'removed' },
    { path: '/tls/on', before: false, after: true, kind: 'changed' },
    { path: '/tls/cert', after: 'x.pem', kind: 'added' },
    { path: '/list/1', before: 2, after: 5, kind: 'changed' },
    { path: '/list/2', before: 3, kind: 'removed' },
    { path: '/a~1b', before: 1, after: 2, kind: 'changed' },
    { path: '/x', after: true, kind: 'added' },
  ]);
  assert.equal(diffJson({ a: { b: [0, { c: 1 }] } }, { a: { b: [0, { c: 2 }, 9] } }), [
    { path: '/a/b/1/c', before: 1, after: 2, kind: 'changed' },
    { path: '/a/b/2', after: 9, kind: 'added' },
  ]);
  assert.equal(diffJson({ a: [1] }, { a: { 0: 1 } }), [{ path: '/a', before: [1], after: { 0: 1 }, kind: 'changed' }]);
  assert.equal(diffJson({ a: 1, u: undefined }, { a: 1 }), []);
  assert.equal(diffJson(1, 2), [{ path: '', before: 1, after: 2, kind: 'changed' }]);
  assert.ok(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] }));
  assert.not.ok(jsonEqual({ a: null }, {}));
});

test('formatDiff: readable lines', () => {
  const text = formatDiff(diffJson({ port: 8080, y: 'a', o: { k: [1] } }, { port: 8081, x: true, o: { k: [1, 'z'] } }));
  assert.is(text, [
    '~ /port: 8080 -> 8081',
    '- /y: "a"',
    '+ /o/k/1: "z"',
    '+ /x: true',
  ].join('\n'));
  assert.is(formatDiff([]), '');
  assert.is(formatDiff(diffJson(null, { a: 1 })), '~ (root): null -> {"a":1}');
  assert.is(formatDiff([{ path: '/s', after: 'x'.repeat(50), kind: 'added' }], { maxValueLength: 10 }), '+ /s: "xxxxxxxx…');
});

test('revisions of a revert diff cleanly', async () => {
  const store = new RevisionStore(await tempDir());
  await store.record(ID, { port: 8080, debug: false }, 'start');
  await store.record(ID, { port: 8081, debug: false, extra: [1] }, 'api');
  const [r1, r2] = await store.list(ID);
  assert.is(formatDiff(diffJson(r2!.config, r1!.config)), '~ /port: 8081 -> 8080\n- /extra: [1]');
});

test.run();
