// installModule from each kind of source pacote fetches: a tarball made by npm pack (with a
// dependency given as a local tarball, which npm installs into the module's own node_modules), a
// folder, an http URL on a loopback server, and a name@range from a tiny loopback registry.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installModule } from '../../core/install/install.ts';
import { INSTALL_RECORD, listInstalled } from '../../core/install/store.ts';
import { treeHash } from '../../core/install/tree-hash.ts';
import {
  assertStore, base, fixture, moduleFiles, moduleFolder, moduleTarball, rejectsWith, serve, serveBytes, sha256, sha512,
  type Fixture, type Served,
} from './helpers.ts';

let f: Fixture;
const servers: Served[] = [];

test.before(async () => {
  f = await fixture();
});

test.after(async () => {
  for (const s of servers.splice(0)) await s.close();
  await f?.cleanup();
});

/** The installed folder has the module's files and its dependency in its own node_modules. */
async function assertInstalled(dir: string, from: string): Promise<void> {
  const want = await moduleFiles(from);
  const got = await moduleFiles(dir);
  got.delete('package-lock.json'); // written by npm install
  assert.equal([...got.keys()].sort(), [...want.keys()].sort(), 'the same files');
  for (const [path, bytes] of want) assert.ok(got.get(path)!.equals(bytes), `${path} is the same bytes`);
  const dep = JSON.parse(await readFile(join(dir, 'node_modules/dep/package.json'), 'utf8')) as { name: string; version: string };
  assert.equal([dep.name, dep.version], ['dep', '1.0.0'], 'npm installed the dependency into the module\'s node_modules');
  assert.ok(existsSync(join(dir, INSTALL_RECORD)), 'the install record');
}

test('a tarball made by npm pack, with a dependency given as a local tarball', async () => {
  const tgz = await moduleTarball(f.root, 'packed', '1.0.0');
  const bytes = await readFile(tgz);
  const phases: string[] = [];
  const r = await installModule(tgz, { ...base(f), onProgress: (p) => { if (phases.at(-1) !== p.phase) phases.push(p.phase); } });
  assert.equal([r.name, r.version, r.dir], ['packed', '1.0.0', join(f.store, 'packed@1.0.0')]);
  assert.is(r.integrity, sha512(bytes), 'npm\'s sha512 integrity of the tarball');
  assert.is(r.sha256, sha256(bytes), 'what #sha256= pins: the tarball bytes');
  assert.is(r.source, tgz);
  assert.equal(phases, ['resolve', 'fetch', 'extract', 'verify', 'deps', 'store', 'done']);
  await assertInstalled(r.dir, join(f.root, 'src', 'packed-1.0.0'));
  const listed = await listInstalled(f.store);
  assert.equal(listed.map((m) => [m.name, m.version, m.integrity]), [['packed', '1.0.0', r.integrity]]);

  // relative to cwd, and pinned with the right hash (force: it is installed already)
  const again = await installModule(`./tgz/packed-1.0.0.tgz#sha256=${r.sha256.toUpperCase()}`, { ...base(f), cwd: f.root, force: true });
  assert.is(again.sha256, r.sha256);
  await assertStore(f.store, ['packed@1.0.0'], 'after a forced reinstall');
});

test('a folder: packed like npm pack (its node_modules and dot-files left out), deps installed', async () => {
  const dir = await moduleFolder(f.root, 'folder-mod', '1.2.3', {}, { '.env': 'SECRET=1\n', 'node_modules/junk/index.js': 'junk\n' });
  const r = await installModule(dir, base(f));
  assert.equal([r.name, r.version], ['folder-mod', '1.2.3']);
  assert.is(r.sha256, (await treeHash(dir)).sha256, 'a folder is pinned by its file-list hash');
  assert.is(r.integrity, `files-sha256:${r.sha256}`);
  await assertInstalled(r.dir, dir);
  assert.not.ok(existsSync(join(r.dir, '.env')), 'no dot-file');
  assert.not.ok(existsSync(join(r.dir, 'node_modules/junk')), 'not the folder\'s own node_modules');
});

test('a tarball URL on a loopback HTTP server', async () => {
  const tgz = await moduleTarball(f.root, 'from-url', '0.1.0');
  const bytes = await readFile(tgz);
  const s = await serveBytes(bytes);
  servers.push(s);
  const r = await installModule(`${s.url}/pkgs/from-url-0.1.0.tgz#sha256=${sha256(bytes)}`, base(f));
  assert.equal([r.name, r.version, r.integrity], ['from-url', '0.1.0', sha512(bytes)]);
  assert.is(r.resolved, `${s.url}/pkgs/from-url-0.1.0.tgz`);
  assert.equal(s.seen, ['/pkgs/from-url-0.1.0.tgz']);
  await assertInstalled(r.dir, join(f.root, 'src', 'from-url-0.1.0'));
});

/** A registry on loopback: a packument per name, tarballs under /-/ (what pacote asks of npm's). */
async function registry(versions: Record<string, Buffer>, name: string, opts: { badIntegrity?: boolean } = {}): Promise<Served> {
  let url = '';
  const s = await serve((req, res) => {
    if (req.url === `/${name}`) {
      const doc = {
        name,
        'dist-tags': { latest: Object.keys(versions).at(-1) },
        versions: Object.fromEntries(Object.entries(versions).map(([v, b]) => [v, {
          name, version: v, dist: { tarball: `${url}/-/${name}-${v}.tgz`, integrity: opts.badIntegrity ? sha512(Buffer.from('other')) : sha512(b) },
        }])),
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(doc));
      return;
    }
    const m = /^\/-\/.*-(\d+\.\d+\.\d+)\.tgz$/.exec(req.url ?? '');
    const b = m && versions[m[1]!];
    if (!b) { res.writeHead(404); res.end('{}'); return; }
    res.writeHead(200, { 'content-length': b.length });
    res.end(b);
  });
  url = s.url;
  servers.push(s);
  return s;
}

test('a name with a range, from a registry on loopback (resolved like npm: highest in range)', async () => {
  const versions: Record<string, Buffer> = {};
  for (const v of ['1.0.0', '1.4.0', '2.0.0']) versions[v] = await readFile(await moduleTarball(f.root, 'cheshire-hello', v));
  const reg = await registry(versions, 'cheshire-hello');
  const r = await installModule('cheshire-hello@^1', { ...base(f), registry: `${reg.url}/` });
  assert.equal([r.name, r.version, r.integrity], ['cheshire-hello', '1.4.0', sha512(versions['1.4.0']!)]);
  assert.is(r.resolved, `${reg.url}/-/cheshire-hello-1.4.0.tgz`);
  const latest = await installModule('cheshire-hello', { ...base(f), registry: `${reg.url}/` });
  assert.is(latest.version, '2.0.0', 'no range: the latest tag');
  await rejectsWith(installModule('cheshire-hello@^3', { ...base(f), registry: `${reg.url}/` }), 'CHS_ERR_INSTALL_SPEC', 'no version in range');
  await rejectsWith(installModule('cheshire-nosuch', { ...base(f), registry: `${reg.url}/` }), 'CHS_ERR_INSTALL_FETCH', 'an unknown name');
  assert.ok(reg.seen.includes('/cheshire-hello'), 'the packument came from the loopback registry');
});

test('a registry whose recorded integrity does not match the tarball is refused, nothing kept', async () => {
  const bytes = await readFile(await moduleTarball(f.root, 'tampered', '1.0.0'));
  const reg = await registry({ '1.0.0': bytes }, 'tampered', { badIntegrity: true });
  const before = (await listInstalled(f.store)).map((m) => m.dir);
  await rejectsWith(installModule('tampered@1', { ...base(f), registry: `${reg.url}/` }), 'CHS_ERR_INSTALL_INTEGRITY', 'registry integrity');
  await assertStore(f.store, before.map((d) => d.slice(f.store.length + 1)), 'after the refusal');
});

test('a spec npm cannot use and a missing path are refused with their codes', async () => {
  await mkdir(join(f.root, 'empty'), { recursive: true });
  await writeFile(join(f.root, 'empty', 'note.txt'), 'x');
  await rejectsWith(installModule('./no/such.tgz', { ...base(f), cwd: f.root }), 'CHS_ERR_INSTALL_FETCH', 'a missing tarball');
  await rejectsWith(installModule('./empty', { ...base(f), cwd: f.root }), 'CHS_ERR_DESCRIPTOR_INVALID', 'a folder without package.json');
  await rejectsWith(installModule('x#sha256=abc', base(f)), 'CHS_ERR_INSTALL_SPEC', 'a short pin');
  await rejectsWith(installModule('127.0.0.1:70000/modules/x', base(f)), 'CHS_ERR_INSTALL_SPEC', 'a port out of range');
  await rejectsWith(installModule('127.0.0.1:6666/', base(f)), 'CHS_ERR_INSTALL_SPEC', 'no tree path');
  await rejectsWith(installModule('github:someone/something', base(f)), 'CHS_ERR_INSTALL_SPEC', 'git is not installed');
});

test.run();
