// Installing from another node's 9P tree, and styx-root's read-only /modules/M/source that it
// reads: a real node runs a module; our client and diodcat read its source (no node_modules, no
// dot-files, no writes); `installModule('127.0.0.1:PORT/modules/M')` lands the same bytes, with
// the same file-list hash as a folder install of that folder; a second node importing the
// first at /net/alpha installs it through /net/alpha/modules/M the same way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installModule } from '../../core/install/install.ts';
import { listInstalled } from '../../core/install/store.ts';
import { treeHash } from '../../core/install/tree-hash.ts';
import { diodBinary, freePort, runTool } from '../helpers/diod.ts';
import { waitFor } from '../helpers/project.ts';
import { rejection, startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';
import { assertStore, base, fixture, moduleFiles, rejectsWith, type Fixture } from './helpers.ts';

let f: Fixture;
let a: StyxNode;
let b: StyxNode | undefined;
let folder: string;
const logo = randomBytes(3000);

test.before(async () => {
  f = await fixture();
  a = await startStyxNode({
    modules: {
      'remote-mod': {
        version: '1.3.0',
        cheshire: { provides: ['remote'] },
        index: 'export function start() { return { ok: true }; }\n',
        files: {
          'lib/util.ts': 'export const answer = 42;\n',
          'README.md': '# remote-mod\n',
          '.hidden': 'not for export\n',
          'lib/.also-hidden': 'no\n',
          'node_modules/junk/index.js': 'module.exports = 1;\n',
        },
      },
    },
    role: ['remote-mod'],
  });
  folder = a.project.modulePath('remote-mod', '');
  await writeFile(join(folder, 'logo.bin'), logo); // binary, and written after the host started
});

test.after(async () => {
  await b?.close();
  await a?.close();
  await f?.cleanup();
});

test('/modules/M/source: the module folder, read-only, without node_modules and dot-files', async () => {
  for (const dialect of ['9P2000.L', '9P2000.u'] as const) {
    const c = await a.connect(dialect);
    const names = (await c.ls('/modules/remote-mod')).map((e) => e.name);
    assert.ok(names.includes('source'), `/modules/remote-mod has source (${names.join(' ')})`);
    const top = await c.ls('/modules/remote-mod/source');
    assert.equal(top.map((e) => e.name).sort(), ['README.md', 'index.ts', 'lib', 'logo.bin', 'package.json']);
    assert.equal((await c.ls('/modules/remote-mod/source/lib')).map((e) => e.name), ['util.ts']);
    assert.ok((await c.readFile('/modules/remote-mod/source/logo.bin')).equals(logo), `${dialect}: the same bytes`);
    assert.is(await text(c, '/modules/remote-mod/source/lib/util.ts'), 'export const answer = 42;\n');
    await rejection(c.walkPath('/modules/remote-mod/source/.hidden'), 'a dot-file is not there');
    await rejection(c.walkPath('/modules/remote-mod/source/node_modules'), 'node_modules is not there');
    await rejection(c.writeFile('/modules/remote-mod/source/index.ts', 'x', { create: false }), 'writing');
    await rejection(c.writeFile('/modules/remote-mod/source/new.ts', 'x'), 'creating');
    assert.ok(!existsSync(join(folder, 'new.ts')), 'nothing was created');
    // styx-root's own folder is exported the same way
    assert.ok((await c.ls('/modules/styx-root/source')).some((e) => e.name === 'tree.ts'));
    await c.close();
  }
});

test('diodcat reads a file of /modules/M/source', async () => {
  const cat = await runTool(diodBinary('diodcat'), ['-s', `127.0.0.1:${a.port}`, '-a', '/', '-t', '5', 'modules/remote-mod/source/package.json'], 8000);
  assert.is(cat.code, 0, `diodcat failed: ${cat.stderr}`);
  assert.is(JSON.parse(cat.stdout).version, '1.3.0');
});

test('install HOST:PORT/modules/M copies the module byte for byte; pinned by its file-list hash', async () => {
  const phases: string[] = [];
  const r = await installModule(`127.0.0.1:${a.port}/modules/remote-mod`, { ...base(f), onProgress: (p) => { if (phases.at(-1) !== p.phase) phases.push(p.phase); } });
  assert.equal([r.name, r.version, r.resolved], ['remote-mod', '1.3.0', `9p://127.0.0.1:${a.port}/modules/remote-mod/source`]);
  assert.equal(phases, ['resolve', 'fetch', 'verify', 'store', 'done'], 'no dependencies: npm never runs');
  const want = await moduleFiles(folder);
  const got = await moduleFiles(r.dir);
  assert.equal([...got.keys()].sort(), [...want.keys()].sort());
  for (const [path, bytes] of want) assert.ok(got.get(path)!.equals(bytes), `${path}: the same bytes`);
  assert.not.ok(existsSync(join(r.dir, '.hidden')));
  assert.not.ok(existsSync(join(r.dir, 'node_modules')));
  assert.is(r.sha256, (await treeHash(folder)).sha256, 'the hash of the folder it came from');
  assert.is(r.integrity, `files-sha256:${r.sha256}`);
  // a folder install of the same folder lands the same files under the same hash
  const local = await installModule(folder, { ...base(f), storeDir: join(f.root, 'other-store') });
  assert.is(local.sha256, r.sha256);
  // pinned: the right hash installs, a wrong one is refused and leaves nothing
  await installModule(`127.0.0.1:${a.port}/modules/remote-mod#sha256=${r.sha256}`, { ...base(f), force: true });
  await rejectsWith(installModule(`127.0.0.1:${a.port}/modules/remote-mod#sha256=${'1'.repeat(64)}`, { ...base(f), force: true }), 'CHS_ERR_INSTALL_INTEGRITY', 'wrong 9P pin');
  await assertStore(f.store, ['remote-mod@1.3.0'], 'after the 9P installs');
  assert.is((await listInstalled(f.store))[0]!.sha256, r.sha256);
});

test('a 9P path that is no module folder, or a node nobody runs, is refused, nothing kept', async () => {
  await rejectsWith(installModule(`127.0.0.1:${a.port}/modules/nosuch`, base(f)), 'CHS_ERR_INSTALL_FETCH', 'no such module');
  await rejectsWith(installModule(`127.0.0.1:${a.port}/modules/remote-mod/source/lib`, base(f)), 'CHS_ERR_INSTALL_FETCH', 'no package.json');
  const e = await rejectsWith(installModule(`127.0.0.1:${await freePort()}/modules/x`, base(f)), 'CHS_ERR_INSTALL_FETCH', 'nobody listening');
  assert.match(e.message, 'cannot connect');
  await assertStore(f.store, ['remote-mod@1.3.0'], 'after the refusals');
});

test('through another node\'s /net graft: HOST:PORT/net/alpha/modules/M', async () => {
  b = await startStyxNode({
    copy: ['styx-client'],
    role: ['styx-client'],
    config: { 'styx-client': { imports: [{ name: 'alpha', address: `127.0.0.1:${a.port}` }], discover: '', reconnect: { minMs: 20, maxMs: 200 } } },
  });
  const c = await b.connect('9P2000.L');
  await waitFor('the graft of alpha', async () => (await c.ls('/net/alpha/modules/remote-mod/source')).length > 0, 5000);
  const store = join(f.root, 'net-store');
  const r = await installModule(`127.0.0.1:${b.port}/net/alpha/modules/remote-mod`, { ...base(f), storeDir: store });
  assert.is(r.resolved, `9p://127.0.0.1:${b.port}/net/alpha/modules/remote-mod/source`);
  assert.is(r.sha256, (await treeHash(folder)).sha256, 'the same files');
  assert.ok((await moduleFiles(r.dir)).get('logo.bin')!.equals(logo));
});

test.run();
