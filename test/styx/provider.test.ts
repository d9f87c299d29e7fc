// styx-provider's kinds, read through the node's tree with our client: a local directory
// (read-only unless writable), a legacy 9P server (a real diod) relayed into the tree, another
// module's subtree mirrored elsewhere, and a tree from a .ts file that hot-reloads. A reload of
// a provider while a client holds fids on it gives errors on the old fids, not wrong data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DMNAMEDPIPE, DMSYMLINK, EOPNOTSUPP, ESTALE } from '../../fs/codec/constants.ts';
import { RemoteError } from '../../fs/errors.ts';
import { startDiod, type DiodServer } from '../helpers/diod.ts';
import { waitFor } from '../helpers/project.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

const demo = `
import { dir, file } from 'cheshire/sdk';
export function start(ctx: any) { ctx.mount('/demo', dir('demo', [file('hi', { read: () => 'hi from demo\\n' })])); }
`;
const treeFile = (word: string) => `
import { dir, file } from 'cheshire/sdk';
export function tree() { return dir('t', [file('word', { read: () => '${word}\\n' })]); }
`;

let node: StyxNode;
let diod: DiodServer;
let tmp: string;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'chs-provider-'));
  await mkdir(join(tmp, 'docs/sub'), { recursive: true });
  await writeFile(join(tmp, 'docs/readme.txt'), 'local file\n');
  await writeFile(join(tmp, 'docs/sub/deep.txt'), 'deep\n');
  await mkdir(join(tmp, 'legacy'));
  await writeFile(join(tmp, 'legacy/old.txt'), 'served by diod\n');
  await mkdir(join(tmp, 'rw'));
  await writeFile(join(tmp, 'tree.ts'), treeFile('one'));
  diod = await startDiod(join(tmp, 'legacy'));
  node = await startStyxNode({
    copy: ['styx-provider'],
    modules: { demo: { index: demo } },
    role: ['demo', 'styx-provider#docs', 'styx-provider#rw', 'styx-provider#legacy', 'styx-provider#mirror', 'styx-provider#t'],
    config: {
      'styx-provider#docs': { root: join(tmp, 'docs') },
      'styx-provider#rw': { root: join(tmp, 'rw'), writable: true },
      'styx-provider#legacy': { server: 'proxy', address: `127.0.0.1:${diod.port}`, aname: diod.aname },
      'styx-provider#mirror': { server: 'module', module: 'demo', path: '/seen/demo' },
      'styx-provider#t': { server: 'file', file: join(tmp, 'tree.ts'), path: '/files/t' },
    },
  });
});

test.after(async () => {
  await node?.close();
  await diod?.stop();
  await rm(tmp, { recursive: true, force: true });
});

test('export: a local directory appears at /export/NAME, read-only by default', async () => {
  const c = await node.connect('9P2000.u');
  assert.equal((await c.ls('/export')).map((e) => e.name).sort(), ['docs', 'legacy', 'rw']);
  assert.is(await text(c, '/export/docs/readme.txt'), 'local file\n');
  assert.is(await text(c, '/export/docs/sub/deep.txt'), 'deep\n');
  try {
    await c.writeFile('/export/docs/new.txt', 'x');
    assert.unreachable('a read-only export must refuse writes');
  } catch (err) {
    assert.match((err as RemoteError).ename, /read-only|permission/i);
  }
  await c.writeFile('/export/rw/new.txt', 'written through 9P\n');
  assert.is(await readFile(join(tmp, 'rw/new.txt'), 'utf8'), 'written through 9P\n');
});

test('proxy: a legacy 9P server (diod) appears inside the node\'s tree', async () => {
  const c = await node.connect('9P2000.L');
  assert.is(await text(c, '/export/legacy/old.txt'), 'served by diod\n');
});

test('module: another module\'s subtree mirrored at another path', async () => {
  const c = await node.connect('9P2000.L');
  assert.is(await text(c, '/seen/demo/hi'), 'hi from demo\n');
  assert.is(await text(c, '/demo/hi'), 'hi from demo\n', 'the original stays');
});

test('file: a tree from a .ts file, hot-reloaded when the file changes; old fids get ESTALE', async () => {
  const c = await node.connect('9P2000.L');
  assert.is(await text(c, '/files/t/word'), 'one\n');
  const old = await c.walkPath('/files/t/word');
  await writeFile(join(tmp, 'tree.ts'), treeFile('two'));
  await waitFor('the new tree', async () => (await text(c, '/files/t/word')) === 'two\n');
  try {
    await c.open(old, 'r');
    assert.unreachable('the old fid must be stale');
  } catch (err) {
    assert.is((err as RemoteError).errno, ESTALE);
  }
});

test('file: a save that empties the file, then writes it 20 ms later, still ends on the new tree', async () => {
  const c = await node.connect('9P2000.L');
  await writeFile(join(tmp, 'tree.ts'), '');
  await new Promise((r) => setTimeout(r, 20));
  await writeFile(join(tmp, 'tree.ts'), treeFile('three'));
  await waitFor('the tree after the second write', async () => (await text(c, '/files/t/word')) === 'three\n');
});

test('at an export\'s own top (its mount point): symlink, link, rename up into it; .u DMSYMLINK creates a link', async () => {
  const c = await node.connect('9P2000.L');
  await c.mkdir('/export/rw/top-sub');
  await c.writeFile('/export/rw/top-sub/up.txt', 'moved up\n');
  const top = await c.walkPath('/export/rw');
  const sub = await c.walkPath('/export/rw/top-sub');
  try {
    await c.rpc({ type: 'Tsymlink', fid: top, name: 'top-link', symtgt: 'top-sub/up.txt', gid: 0 });
    const { readlink } = await import('node:fs/promises');
    assert.is(await readlink(join(tmp, 'rw/top-link')), 'top-sub/up.txt');
    await c.rpc({ type: 'Trenameat', olddirfid: sub, oldname: 'up.txt', newdirfid: top, newname: 'up.txt' });
    assert.is(await readFile(join(tmp, 'rw/up.txt'), 'utf8'), 'moved up\n');
    const file = await c.walkPath('/export/rw/up.txt');
    try {
      await c.rpc({ type: 'Tlink', dfid: top, fid: file, name: 'up-again.txt' });
    } finally {
      await c.clunk(file);
    }
    assert.is(await readFile(join(tmp, 'rw/up-again.txt'), 'utf8'), 'moved up\n');
  } finally {
    await c.clunk(top);
    await c.clunk(sub);
  }

  const u = await node.connect('9P2000.u');
  const dir = await u.walkPath('/export/rw');
  try {
    await u.rpc({ type: 'Tcreate', fid: dir, name: 'u-link', perm: (DMSYMLINK | 0o777) >>> 0, mode: 0, extension: 'up.txt' });
    const { readlink, lstat } = await import('node:fs/promises');
    assert.ok((await lstat(join(tmp, 'rw/u-link'))).isSymbolicLink(), 'a symlink, not an empty regular file');
    assert.is(await readlink(join(tmp, 'rw/u-link')), 'up.txt');
  } finally {
    await u.clunk(dir);
  }
  const pipe = await u.walkPath('/export/rw');
  try {
    await u.rpc({ type: 'Tcreate', fid: pipe, name: 'fifo', perm: (DMNAMEDPIPE | 0o644) >>> 0, mode: 0, extension: '' });
    assert.unreachable('a named pipe must be refused');
  } catch (err) {
    assert.is((err as RemoteError).errno, EOPNOTSUPP);
    const { lstat } = await import('node:fs/promises');
    await lstat(join(tmp, 'rw/fifo')).then(() => assert.unreachable('nothing created'), () => undefined);
  } finally {
    await u.clunk(pipe).catch(() => undefined);
  }
});

test('reloading a provider while a client holds fids: errors on the old fids, new walks work', async () => {
  const c = await node.connect('9P2000.L');
  const fid = await c.walkPath('/export/docs/readme.txt');
  await c.open(fid, 'r');
  await node.th.host.reload('styx-provider#docs');
  try {
    await c.read(fid, 0, 100);
    assert.unreachable('a fid from before the reload must not read');
  } catch (err) {
    assert.is((err as RemoteError).errno, ESTALE);
  }
  assert.is(await text(c, '/export/docs/readme.txt'), 'local file\n');
});

test.run();
