// core/history: snapshots, records, retention, restore — on real temp folders.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFile, chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CheshireError } from '../../core/errors.ts';
import { VersionStore } from '../../core/history/index.ts';
import { encodeManifest, decodeManifest } from '../../core/history/snapshot.ts';

const root = join(import.meta.dirname, '..', '..');
const dirs: string[] = [];

async function tempDir(prefix = 'chs-hist-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

test.after(async () => {
  for (const d of dirs) {
    // objects are read-only files; their folders are not, so rm works.
    await rm(d, { recursive: true, force: true });
  }
});

const PKG = (version: string, watch?: string[]) => JSON.stringify({
  name: 'demo', version, type: 'module', cheshire: { entry: 'index.ts', ...(watch ? { watch } : {}) },
}, null, 2) + '\n';

async function writeTree(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, data] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), data);
  }
}

/** rel -> bytes (hex) + mode, or link target, for every leaf under `dir` (nothing skipped). */
async function readTree(dir: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const p = join(dir, r);
    if (e.isDirectory()) for (const [k, v] of await readTree(dir, r)) out.set(k, v);
    else if (e.isSymbolicLink()) out.set(r, `link:${await readlink(p)}`);
    else out.set(r, `${((await stat(p)).mode & 0o777).toString(8)}:${(await readFile(p)).toString('hex')}`);
  }
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, CheshireError, String(err));
    return `${(err as CheshireError).code} ${(err as Error).message}`;
  }
  assert.unreachable('expected a CheshireError');
  return '';
}

async function demoModule(): Promise<string> {
  const dir = join(await tempDir(), 'demo');
  await writeTree(dir, {
    'package.json': PKG('1.0.0'),
    'index.ts': 'export function start() { return {}; }\n',
    'lib/util.ts': 'export const A = 1;\n',
    'lib/data.json': '{"a":1}\n',
    'notes.txt': 'not owned\n',
    '.env': 'SECRET=1\n',
    '.cache/x.ts': 'dot-folder, never owned\n',
    'node_modules/dep/index.js': 'module.exports = 1;\n',
    'node_modules/dep/package.json': '{"name":"dep"}\n',
  });
  await writeFile(join(dir, 'run.ts'), '#!/usr/bin/env tsx\n');
  await chmod(join(dir, 'run.ts'), 0o755);
  return dir;
}

test('snapshot -> change -> snapshot -> restoreInto rev 1: owned files byte-identical, extras removed, the rest untouched', async () => {
  const dir = await demoModule();
  const store = new VersionStore(join(await tempDir(), 'history'));
  const s1 = await store.snapshot(dir);
  assert.equal(Object.keys(s1.manifest.files), ['index.ts', 'lib/data.json', 'lib/util.ts', 'package.json', 'run.ts']);
  assert.is(s1.version, '1.0.0');
  assert.equal(s1.manifest.files['run.ts'], { kind: 'file', hash: s1.manifest.files['run.ts']!.kind === 'file' ? s1.manifest.files['run.ts']!.hash : '', mode: 0o755, size: 19 });
  const r1 = await store.record('demo', { contentId: s1.contentId, source: 'save', outcome: 'active', bundleHash: 'abc123' });
  assert.is(r1.created, true);
  assert.equal({ rev: r1.entry.rev, version: r1.entry.version, bundleHash: r1.entry.bundleHash }, { rev: 1, version: '1.0.0', bundleHash: 'abc123' });
  const before = await readTree(dir);

  // Change: edit, delete, add (also in a new folder), chmod, bump the version, touch unowned things.
  await writeFile(join(dir, 'index.ts'), 'export function start() { return { v: 2 }; }\n');
  await rm(join(dir, 'lib/data.json'));
  await writeTree(dir, { 'extra.ts': 'export {};\n', 'deep/er/new.ts': 'export {};\n', 'package.json': PKG('1.1.0') });
  await chmod(join(dir, 'run.ts'), 0o644);
  await writeFile(join(dir, 'node_modules/dep/index.js'), 'module.exports = 2;\n');
  await writeFile(join(dir, 'notes.txt'), 'changed, still not owned\n');
  const s2 = await store.snapshot(dir);
  assert.is.not(s2.contentId, s1.contentId);
  const r2 = await store.record('demo', { contentId: s2.contentId, source: 'save', outcome: 'active' });
  assert.is(r2.entry.rev, 2);
  assert.is(r2.entry.version, '1.1.0');
  const unowned = await readTree(dir);

  const res = await store.restoreInto('demo', 1, dir);
  assert.equal(res.removed.sort(), ['deep/er/new.ts', 'extra.ts']);
  assert.equal(res.written.sort(), ['index.ts', 'lib/data.json', 'package.json', 'run.ts']);
  assert.is(res.unchanged, 1); // lib/util.ts
  const after = await readTree(dir);
  for (const rel of Object.keys(s1.manifest.files)) assert.is(after.get(rel), before.get(rel), `${rel} is byte-identical with its mode`);
  assert.not.ok(after.has('extra.ts'));
  assert.not.ok(after.has('deep/er/new.ts'));
  await assert.not.ok(await lstat(join(dir, 'deep')).catch(() => null), 'the folder the removal emptied is gone');
  for (const rel of ['node_modules/dep/index.js', 'node_modules/dep/package.json', 'notes.txt', '.env', '.cache/x.ts']) {
    assert.is(after.get(rel), unowned.get(rel), `${rel} is untouched`);
  }
  // A snapshot of the restored folder is the same version again.
  assert.is((await store.snapshot(dir)).contentId, s1.contentId);

  // materialize: the exact file set, nothing else, in a fresh folder.
  const target = join(await tempDir(), 'out', 'demo-r2');
  await store.materialize('demo', 2, target);
  const m = await readTree(target);
  assert.equal([...m.keys()].sort(), ['deep/er/new.ts', 'extra.ts', 'index.ts', 'lib/util.ts', 'package.json', 'run.ts']);
  assert.is(m.get('run.ts')!.split(':')[0], '644');
  assert.is(m.get('index.ts'), `644:${Buffer.from('export function start() { return { v: 2 }; }\n').toString('hex')}`);
  assert.equal((await readdir(dirname(target))), ['demo-r2'], 'no temp folder left beside it');
  assert.match(await codeOf(store.materialize('demo', 1, target)), /^CHS_ERR_HISTORY_RESTORE .*already exists/);
});

test('identical bytes are one object, across snapshots and modules', async () => {
  const store = new VersionStore(join(await tempDir(), 'history'));
  const a = join(await tempDir(), 'a');
  await writeTree(a, { 'package.json': PKG('1.0.0'), 'index.ts': 'export const x = 1;\n', 'same.ts': 'shared\n', 'copy.ts': 'shared\n' });
  const s1 = await store.snapshot(a);
  assert.is(s1.newObjects, 4); // package.json, index.ts, 'shared' once, the manifest
  assert.is((await store.objectHashes()).length, 4);
  const again = await store.snapshot(a);
  assert.is(again.contentId, s1.contentId);
  assert.is(again.newObjects, 0);
  await writeFile(join(a, 'index.ts'), 'export const x = 2;\n');
  const s2 = await store.snapshot(a);
  assert.is(s2.newObjects, 2); // the new index.ts and its manifest
  assert.is((await store.objectHashes()).length, 6);
  // Another module with the same files as the first version: the same content id, no new object.
  const b = join(await tempDir(), 'b');
  await writeTree(b, { 'package.json': PKG('1.0.0'), 'index.ts': 'export const x = 1;\n', 'same.ts': 'shared\n', 'copy.ts': 'shared\n' });
  const sb = await store.snapshot(b);
  assert.is(sb.contentId, s1.contentId);
  assert.is((await store.objectHashes()).length, 6);
  // Objects live at objects/ab/cdef… and are read-only.
  const h = s1.manifest.files['same.ts']!.kind === 'file' ? s1.manifest.files['same.ts']!.hash : '';
  const st = await stat(join(store.root, 'objects', h.slice(0, 2), h.slice(2)));
  assert.is(st.mode & 0o777, 0o444);
});

test("'start' records of the running version fold; other sources append", async () => {
  const store = new VersionStore(join(await tempDir(), 'history'));
  const dir = await demoModule();
  const v1 = (await store.snapshot(dir)).contentId;
  await writeFile(join(dir, 'index.ts'), '// v2\n');
  const v2 = (await store.snapshot(dir)).contentId;

  const first = await store.record('demo', { contentId: v1, source: 'start', outcome: 'active' });
  assert.equal([first.entry.rev, first.created], [1, true]);
  const restart = await store.record('demo', { contentId: v1, source: 'start', outcome: 'active' });
  assert.equal([restart.entry.rev, restart.created], [1, false]);
  assert.equal(restart.entry, first.entry);
  // A refused save in between: a restart on the still-running v1 is still not a new version.
  const refused = await store.record('demo', { contentId: v2, source: 'save', outcome: 'refused', error: 'CHS_ERR_MODULE_LOAD: x' });
  assert.is(refused.entry.rev, 2);
  assert.is(refused.entry.error, 'CHS_ERR_MODULE_LOAD: x');
  assert.equal((await store.record('demo', { contentId: v1, source: 'start', outcome: 'active' })).created, false);
  assert.is((await store.latestActive('demo'))?.rev, 1);
  assert.is((await store.latest('demo'))?.rev, 2);
  // A node crash-looping on a failing version: one line, not one per restart.
  const f1 = await store.record('demo', { contentId: v2, source: 'start', outcome: 'failed', error: 'boom' });
  const f2 = await store.record('demo', { contentId: v2, source: 'start', outcome: 'failed', error: 'boom' });
  assert.equal([f1.entry.rev, f1.created, f2.entry.rev, f2.created], [3, true, 3, false]);
  // Restarting on other content is a new version; saves and rollbacks always append.
  assert.is((await store.record('demo', { contentId: v2, source: 'start', outcome: 'active' })).entry.rev, 4);
  assert.is((await store.record('demo', { contentId: v2, source: 'save', outcome: 'active' })).entry.rev, 5);
  assert.is((await store.record('demo', { contentId: v1, source: 'rollback', outcome: 'active' })).entry.rev, 6);
  assert.equal((await store.list('demo')).map((e) => `${e.rev}:${e.source}:${e.outcome}`), ['1:start:active', '2:save:refused', '3:start:failed', '4:start:active', '5:save:active', '6:rollback:active']);
  // An unknown content id cannot be recorded; a missing rev is NOT_FOUND naming what exists.
  assert.match(await codeOf(store.record('demo', { contentId: 'f'.repeat(64), source: 'save', outcome: 'active' })), /^CHS_ERR_HISTORY_NOT_FOUND .*no stored version f{64}/);
  assert.match(await codeOf(store.get('demo', 9)), /^CHS_ERR_HISTORY_NOT_FOUND .*module "demo" has no history rev 9 \(it has revs 1, 2, 3, 4, 5, 6\)/);
  assert.match(await codeOf(store.get('nobody', 1)), /it has no recorded versions/);
  assert.equal(await store.modules(), ['demo']);
  const onDisk = (await readFile(join(store.root, 'records', 'demo.jsonl'), 'utf8')).trim().split('\n');
  assert.is(onDisk.length, 6);
});

test('concurrent records on one root get distinct, gapless revs', async () => {
  const root = join(await tempDir(), 'history');
  const a = new VersionStore(root);
  const b = new VersionStore(root); // a second object on the same root shares the lock
  const dir = await demoModule();
  const snaps = [];
  for (let i = 0; i < 10; i++) {
    await writeFile(join(dir, 'index.ts'), `// ${i}\n`);
    snaps.push(await a.snapshot(dir));
  }
  const results = await Promise.all(snaps.map((s, i) => (i % 2 ? a : b).record('demo', { contentId: s.contentId, source: 'save', outcome: 'active' })));
  assert.equal(results.map((r) => r.entry.rev).sort((x, y) => x - y), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal((await a.list('demo')).map((e) => e.rev), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
});

test('prune keeps the newest N active (+ others, + the latest) and collects only unreferenced objects', async () => {
  const store = new VersionStore(join(await tempDir(), 'history'), { retention: { keepActive: 3, keepOther: 1 } });
  const dir = await demoModule();
  const ids: string[] = [];
  const uniqueHash: string[] = [];
  for (let i = 1; i <= 6; i++) {
    await writeFile(join(dir, 'index.ts'), `export const V = ${i};\n`);
    const s = await store.snapshot(dir);
    ids.push(s.contentId);
    uniqueHash.push((s.manifest.files['index.ts'] as { hash: string }).hash);
    await store.record('demo', { contentId: s.contentId, source: 'save', outcome: i === 2 || i === 5 ? 'refused' : 'active' });
  }
  // Another module keeps its own objects alive, including one it shares with demo's pruned revs.
  const other = join(await tempDir(), 'other');
  await writeTree(other, { 'package.json': PKG('2.0.0'), 'index.ts': 'export const V = 1;\n' });
  const so = await store.snapshot(other);
  await store.record('other', { contentId: so.contentId, source: 'install', outcome: 'active' });
  // A snapshot taken but not recorded yet is pinned.
  await writeFile(join(dir, 'index.ts'), 'export const V = "pending";\n');
  const pending = await store.snapshot(dir);

  const res = await store.prune();
  // revs: 1 A, 2 R, 3 A, 4 A, 5 R, 6 A -> active kept: 6, 4, 3; other kept: 5.
  assert.equal((await store.list('demo')).map((e) => e.rev), [3, 4, 5, 6]);
  assert.is(res.removedEntries, 2);
  assert.is(res.removedObjects, 3, 'the manifests of revs 1 and 2 and rev 2\'s index.ts (rev 1\'s is shared with "other")');
  const present = new Set(await store.objectHashes());
  assert.not.ok(present.has(ids[0]!));
  assert.not.ok(present.has(ids[1]!));
  assert.ok(present.has(uniqueHash[0]!), 'still referenced by "other"');
  for (const i of [2, 3, 4, 5]) {
    assert.ok(present.has(ids[i]!), `rev ${i + 1}'s manifest survives`);
    assert.ok(present.has(uniqueHash[i]!), `rev ${i + 1}'s index.ts survives`);
  }
  assert.is(res.keptObjects, present.size);
  assert.match(await codeOf(store.get('demo', 1)), /HISTORY_NOT_FOUND .*it has revs 3, 4, 5, 6/);
  // Every kept version is still whole.
  for (const rev of [3, 4, 5, 6]) await store.materialize('demo', rev, join(await tempDir(), `r${rev}`));
  // The pinned snapshot survived and can be recorded; the next rev continues after 6.
  const r = await store.record('demo', { contentId: pending.contentId, source: 'save', outcome: 'active' });
  assert.is(r.entry.rev, 7);
  await store.materialize('demo', 7, join(await tempDir(), 'r7'));
  // Once recorded the pin is gone: a later prune past it collects it.
  const store1 = new VersionStore(store.root, { retention: { keepActive: 1, keepOther: 0 } });
  await store1.prune('demo');
  assert.equal((await store1.list('demo')).map((e) => e.rev), [7]);
  assert.equal((await store1.list('other')).map((e) => e.rev), [1]);
  const left = new Set(await store1.objectHashes());
  assert.ok(left.has(pending.contentId) && left.has(so.contentId));
  assert.not.ok(left.has(ids[5]!));
  // An unrecorded snapshot released explicitly is collectable too.
  await writeFile(join(dir, 'index.ts'), 'export const V = "dropped";\n');
  const dropped = await store1.snapshot(dir);
  store1.release(dropped.contentId);
  await store1.prune();
  assert.not.ok((await store1.objectHashes()).includes(dropped.contentId));
});

test('a torn last line in the records file is tolerated and repaired on the next append', async () => {
  const store = new VersionStore(join(await tempDir(), 'history'));
  const dir = await demoModule();
  const s1 = await store.snapshot(dir);
  await store.record('demo', { contentId: s1.contentId, source: 'save', outcome: 'active' });
  await writeFile(join(dir, 'index.ts'), '// 2\n');
  const s2 = await store.snapshot(dir);
  await store.record('demo', { contentId: s2.contentId, source: 'save', outcome: 'active' });
  const file = join(store.root, 'records', 'demo.jsonl');
  const full = JSON.stringify({ rev: 3, contentId: s1.contentId, version: '1.0.0', at: new Date().toISOString(), source: 'rollback', outcome: 'active' });
  await appendFile(file, full.slice(0, Math.floor(full.length / 2))); // kill -9 mid-append

  assert.equal((await store.list('demo')).map((e) => e.rev), [1, 2]);
  assert.is((await store.latestActive('demo'))?.contentId, s2.contentId);
  const r = await store.record('demo', { contentId: s1.contentId, source: 'rollback', outcome: 'active' });
  assert.is(r.entry.rev, 3);
  const lines = (await readFile(file, 'utf8')).split('\n');
  assert.is(lines.pop(), '', 'ends with a newline');
  assert.is(lines.length, 3);
  for (const l of lines) JSON.parse(l); // no torn line left in the middle
  // A torn append that only lost its newline still holds a whole entry: it is kept and completed.
  const whole = JSON.stringify({ rev: 4, contentId: s2.contentId, version: '1.0.0', at: new Date().toISOString(), source: 'save', outcome: 'active' });
  await appendFile(file, whole);
  assert.equal((await store.list('demo')).map((e) => e.rev), [1, 2, 3, 4]);
  assert.is((await store.record('demo', { contentId: s1.contentId, source: 'rollback', outcome: 'active' })).entry.rev, 5);
  assert.equal((await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l).rev), [1, 2, 3, 4, 5]);
  // A malformed line in the middle was not written by the store: refused loudly.
  await writeFile(file, (await readFile(file, 'utf8')).replace('"rev":2', '"rev":"two"'));
  assert.match(await codeOf(store.list('demo')), /^CHS_ERR_HISTORY_CORRUPT .*demo\.jsonl: line 2 is not a history entry/);
});

test('kill -9 while recording: every entry before the kill survives, the next append continues cleanly', async () => {
  const store = new VersionStore(join(await tempDir(), 'history'));
  const dir = await demoModule();
  const a = await store.snapshot(dir);
  await writeFile(join(dir, 'index.ts'), '// b\n');
  const b = await store.snapshot(dir);
  const script = join(await tempDir(), 'writer.mts');
  await writeFile(script, [
    `import { VersionStore } from ${JSON.stringify(join(root, 'core/history/index.ts'))};`,
    `const store = new VersionStore(${JSON.stringify(store.root)});`,
    `const ids = ${JSON.stringify([a.contentId, b.contentId])};`,
    'for (let i = 0; ; i++) {',
    "  await store.record('demo', { contentId: ids[i % 2], source: 'save', outcome: 'active', error: 'x'.repeat(i % 3000) });",
    "  if (i === 20) process.stdout.write('ready\\n');",
    '}',
  ].join('\n'));
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the writer did not report 20 records within 20 s')); }, 20_000);
    child.stdout.on('data', (d: Buffer) => { if (d.toString().includes('ready')) { clearTimeout(deadline); resolve(); } });
  });
  await new Promise((r) => setTimeout(r, 150));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const entries = await store.list('demo');
  assert.ok(entries.length > 20, `${entries.length} entries`);
  assert.equal(entries.map((e) => e.rev), entries.map((_, i) => i + 1), 'gapless');
  const next = await store.record('demo', { contentId: a.contentId, source: 'rollback', outcome: 'active' });
  assert.is(next.entry.rev, entries.length + 1);
  const lines = (await readFile(join(store.root, 'records', 'demo.jsonl'), 'utf8')).split('\n');
  assert.is(lines.pop(), '');
  assert.equal(lines.map((l) => JSON.parse(l).rev), [...entries.map((e) => e.rev), next.entry.rev]);
});

test('a corrupt or missing object fails materialize / restoreInto with CHS_ERR_HISTORY_CORRUPT, touching nothing', async () => {
  const store = new VersionStore(join(await tempDir(), 'history'));
  const dir = await demoModule();
  const s1 = await store.snapshot(dir);
  await store.record('demo', { contentId: s1.contentId, source: 'save', outcome: 'active' });
  const h = (s1.manifest.files['lib/util.ts'] as { hash: string }).hash;
  const obj = join(store.root, 'objects', h.slice(0, 2), h.slice(2));
  await chmod(obj, 0o644);
  await writeFile(obj, 'export const A = 666;\n'); // same length, other bytes

  const target = join(await tempDir(), 'out');
  assert.match(await codeOf(store.materialize('demo', 1, target)), new RegExp(`^CHS_ERR_HISTORY_CORRUPT .*demo rev 1 lib/util\\.ts: object ${h} is corrupt`));
  assert.not.ok(await lstat(target).catch(() => null), 'no target folder');
  assert.equal(await readdir(dirname(target)), [], 'no temp folder either');

  await writeFile(join(dir, 'index.ts'), '// changed\n');
  const tree = await readTree(dir);
  assert.match(await codeOf(store.restoreInto('demo', 1, dir)), /^CHS_ERR_HISTORY_CORRUPT /);
  assert.equal(await readTree(dir), tree, 'the module folder is untouched');
  assert.match(await codeOf(store.readFile('demo', 1, 'lib/util.ts')), /CHS_ERR_HISTORY_CORRUPT/);

  await rm(obj);
  assert.match(await codeOf(store.materialize('demo', 1, target)), /^CHS_ERR_HISTORY_CORRUPT .*is missing/);
  // prune refuses to guess what a corrupt manifest referenced: it deletes no object.
  const m = join(store.root, 'objects', s1.contentId.slice(0, 2), s1.contentId.slice(2));
  await chmod(m, 0o644);
  await writeFile(m, '{"v":1,"files":{}}\n');
  const before = (await store.objectHashes()).length;
  const res = await store.prune();
  assert.match(res.gcSkipped ?? '', /CHS_ERR_HISTORY_CORRUPT/);
  assert.is((await store.objectHashes()).length, before);
});

test('a manifest naming a path outside the folder is refused as corrupt', () => {
  const hash = 'a'.repeat(64);
  for (const bad of ['../x.ts', '/etc/passwd', 'a/../../x', 'node_modules/x.js', '.git/config', 'a//b', '']) {
    const bytes = Buffer.from(JSON.stringify({ v: 1, files: { [bad]: { kind: 'file', hash, mode: 420, size: 1 } } }));
    assert.throws(() => decodeManifest(bytes, 't'), /CHS_ERR_HISTORY_CORRUPT.*unsafe path/, bad);
  }
  // Canonical encoding sorts paths, integer-like ones included.
  const m = decodeManifest(encodeManifest({ v: 1, files: { 'b.ts': { kind: 'link', target: 'x' }, '10': { kind: 'link', target: 'y' }, '9': { kind: 'link', target: 'z' } } }), 't');
  assert.is(encodeManifest(m).toString(), '{"v":1,"files":{"10":{"kind":"link","target":"y"},"9":{"kind":"link","target":"z"},"b.ts":{"kind":"link","target":"x"}}}\n');
});

test('symlinks are recorded as links, never followed (in or out of the folder)', async () => {
  const store = new VersionStore(join(await tempDir(), 'history'));
  const outside = await tempDir('chs-outside-');
  await writeTree(outside, { 'secret.ts': 'export const SECRET = "outside";\n', 'sub/more.ts': 'export const MORE = 1;\n' });
  const dir = join(await tempDir(), 'demo');
  await writeTree(dir, { 'package.json': PKG('1.0.0'), 'index.ts': 'export {};\n' });
  await symlink(join(outside, 'secret.ts'), join(dir, 'secret.ts'));
  await symlink(join(outside, 'sub'), join(dir, 'shared')); // a folder link: not descended
  await symlink('index.ts', join(dir, 'alias.ts'));
  // The bundle read files through the links (esbuild reports real paths outside the folder).
  const s = await store.snapshot(dir, [join(dir, 'index.ts'), join(outside, 'secret.ts'), join(outside, 'sub/more.ts')]);
  assert.equal(s.manifest.files['secret.ts'], { kind: 'link', target: join(outside, 'secret.ts') });
  assert.equal(s.manifest.files['alias.ts'], { kind: 'link', target: 'index.ts' });
  assert.equal(Object.keys(s.manifest.files).sort(), ['alias.ts', 'index.ts', 'package.json', 'secret.ts']);
  const present = await store.objectHashes();
  const { createHash } = await import('node:crypto');
  for (const outsideFile of ['secret.ts', 'sub/more.ts']) {
    const h = createHash('sha256').update(await readFile(join(outside, outsideFile))).digest('hex');
    assert.not.ok(present.includes(h), `${outsideFile}'s bytes were not stored`);
  }
  await store.record('demo', { contentId: s.contentId, source: 'save', outcome: 'active' });
  const target = join(await tempDir(), 'm');
  await store.materialize('demo', 1, target);
  assert.is(await readlink(join(target, 'secret.ts')), join(outside, 'secret.ts'));
  assert.is(await readlink(join(target, 'alias.ts')), 'index.ts');
  // restoreInto replaces a link that became a file (and never writes through a link).
  await rm(join(dir, 'secret.ts'));
  await writeFile(join(dir, 'secret.ts'), 'export const SECRET = "inside";\n');
  await rm(join(dir, 'index.ts'));
  await symlink(join(outside, 'secret.ts'), join(dir, 'index.ts')); // a link where the version has a file
  const res = await store.restoreInto('demo', 1, dir);
  assert.equal(res.written.sort(), ['index.ts', 'secret.ts']);
  assert.is(await readlink(join(dir, 'secret.ts')), join(outside, 'secret.ts'));
  assert.ok((await lstat(join(dir, 'index.ts'))).isFile());
  assert.is(await readFile(join(outside, 'secret.ts'), 'utf8'), 'export const SECRET = "outside";\n', 'the outside file was never written');
});

test('owned = package.json + bundle files inside the folder + watch globs; a foreign file in the way refuses the restore', async () => {
  const store = new VersionStore(join(await tempDir(), 'history'));
  const dir = join(await tempDir(), 'demo');
  await writeTree(dir, { 'package.json': PKG('1.0.0', ['src/**/*.ts']), 'src/a.ts': '1\n', 'helper.mjs': 'x\n', 'top.ts': 'not watched\n' });
  const plain = await store.snapshot(dir);
  assert.equal(Object.keys(plain.manifest.files).sort(), ['package.json', 'src/a.ts']);
  const bundled = await store.snapshot(dir, [join(dir, 'helper.mjs'), join(dir, 'src/a.ts'), join(dir, '..', 'elsewhere.ts')]);
  assert.equal(Object.keys(bundled.manifest.files).sort(), ['helper.mjs', 'package.json', 'src/a.ts']);
  await store.record('demo', { contentId: bundled.contentId, source: 'save', outcome: 'active' });
  // A folder where the version has a file, holding an unowned file: refused before any write.
  await rm(join(dir, 'helper.mjs'));
  await writeTree(dir, { 'helper.mjs/keep.txt': 'mine\n', 'src/a.ts': '2\n' });
  const tree = await readTree(dir);
  assert.match(await codeOf(store.restoreInto('demo', 1, dir)), /^CHS_ERR_HISTORY_RESTORE .*helper\.mjs is a folder holding helper\.mjs\/keep\.txt/);
  assert.equal(await readTree(dir), tree);
  // A folder holding only owned files is replaced.
  await rm(join(dir, 'helper.mjs'), { recursive: true });
  await writeTree(dir, { 'helper.mjs/x/owned.ts': 'export {};\n' });
  await writeFile(join(dir, 'package.json'), PKG('1.0.0', ['**/*.ts']));
  const res = await store.restoreInto('demo', 1, dir);
  assert.equal(res.written.sort(), ['helper.mjs', 'package.json', 'src/a.ts']);
  assert.ok(res.removed.includes('helper.mjs/x/owned.ts'));
  assert.is(await readFile(join(dir, 'helper.mjs'), 'utf8'), 'x\n');
  // top.ts: owned under the current package.json's globs (**/*.ts) and absent from rev 1 -> removed.
  assert.ok(res.removed.includes('top.ts'), res.removed.join(' '));
});

test('size caps refuse a snapshot with CHS_ERR_HISTORY_LIMIT and store nothing', async () => {
  const dir = join(await tempDir(), 'demo');
  await writeTree(dir, { 'package.json': PKG('1.0.0'), 'index.ts': 'export {};\n', 'big.json': Buffer.alloc(5000, 0x20) });
  const small = new VersionStore(join(await tempDir(), 'history'), { limits: { maxFileBytes: 4096 } });
  assert.match(await codeOf(small.snapshot(dir)), /^CHS_ERR_HISTORY_LIMIT .*big\.json is 5000 bytes, over maxFileBytes 4096/);
  assert.equal(await small.objectHashes(), []);
  const total = new VersionStore(join(await tempDir(), 'history'), { limits: { maxSnapshotBytes: 5100 } });
  assert.match(await codeOf(total.snapshot(dir)), /^CHS_ERR_HISTORY_LIMIT .*total \d+ bytes, over maxSnapshotBytes 5100/);
  const few = new VersionStore(join(await tempDir(), 'history'), { limits: { maxFiles: 2 } });
  assert.match(await codeOf(few.snapshot(dir)), /^CHS_ERR_HISTORY_LIMIT .*3 files exceed maxFiles 2/);
  // node_modules does not count against the caps.
  await writeTree(dir, { 'node_modules/huge/index.js': Buffer.alloc(100_000) });
  await rm(join(dir, 'big.json'));
  assert.is((await small.snapshot(dir)).files, 2);
});

test('figures: snapshot + record and restoreInto of modules/fileserver', async () => {
  const src = join(root, 'modules', 'fileserver');
  const work = join(await tempDir(), 'fileserver');
  await cp(src, work, { recursive: true, filter: (p) => !p.includes('node_modules') });
  const store = new VersionStore(join(await tempDir(), 'history'));
  const t = () => performance.now();

  let t0 = t();
  const cold = await store.snapshot(src); // the repository's folder, read only
  const rec = await store.record('fileserver', { contentId: cold.contentId, source: 'install', outcome: 'active' });
  const coldMs = t() - t0;
  t0 = t();
  const warm = await store.snapshot(work);
  await store.record('fileserver', { contentId: warm.contentId, source: 'start', outcome: 'active' });
  const warmMs = t() - t0;
  assert.is(warm.contentId, cold.contentId, 'the copy is the same version');

  // An edit of two files and one added file, then roll back.
  await appendFile(join(work, 'index.ts'), '\n// edited\n');
  await appendFile(join(work, 'router.ts'), '\n// edited\n');
  await writeFile(join(work, 'added.ts'), 'export {};\n');
  t0 = t();
  const s2 = await store.snapshot(work);
  await store.record('fileserver', { contentId: s2.contentId, source: 'save', outcome: 'active' });
  const editMs = t() - t0;
  t0 = t();
  const res = await store.restoreInto('fileserver', rec.entry.rev, work);
  const restoreMs = t() - t0;
  assert.equal(res.written.sort(), ['index.ts', 'router.ts']);
  assert.equal(res.removed, ['added.ts']);
  t0 = t();
  const noop = await store.restoreInto('fileserver', rec.entry.rev, work);
  const noopMs = t() - t0;
  assert.is(noop.written.length + noop.removed.length, 0);
  const tree = await readTree(work);
  const orig = await readTree(src);
  for (const rel of Object.keys(cold.manifest.files)) assert.is(tree.get(rel), orig.get(rel), rel);
  console.log(
    `fileserver: ${cold.files} files, ${cold.bytes} bytes; snapshot+record cold ${coldMs.toFixed(1)} ms (${cold.newObjects} objects written), ` +
    `warm ${warmMs.toFixed(1)} ms (0 written), after a 3-file edit ${editMs.toFixed(1)} ms (${s2.newObjects} written); ` +
    `restoreInto (2 rewritten, 1 removed) ${restoreMs.toFixed(1)} ms, no-op ${noopMs.toFixed(1)} ms`,
  );
});

test.run();
