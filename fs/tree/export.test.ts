// The local export through our client over a real NineServer (both dialects), checked against
// the disk: reads, writes, create/mkdir/rename/remove, symlinks and hard links, truncate and
// setattr, statfs, fsync, read-only refusal, qid stability and versions, cross-export EXDEV.
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DMDIR, DMSYMLINK, EEXIST, EINVAL, EISDIR, ELOOP, ENAMETOOLONG, ENOENT, ENOTDIR, ENOTEMPTY, EOPNOTSUPP, EPERM, EROFS,
  ESTALE, EXDEV, L_O_RDONLY, L_O_RDWR, L_O_TRUNC, L_O_WRONLY, NOFID, nullStat, OREAD, ORDWR, OWRITE, P9_SETATTR_ATIME,
  P9_SETATTR_ATIME_SET, P9_SETATTR_GID, P9_SETATTR_MODE, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET, P9_SETATTR_SIZE,
  P9_SETATTR_UID, QTDIR, QTFILE, QTSYMLINK, S_IFDIR, S_IFLNK, S_IFREG,
} from '../codec/index.ts';
import type { Dialect, Rsetattr, Tsetattr } from '../codec/index.ts';
import { Client } from '../client/client.ts';
import { RemoteError } from '../errors.ts';
import { exportSuite } from '../testing/export-suite.ts';
import { RawConn } from '../testing/raw.ts';
import { exportTree } from './export.ts';

const t = suite('export');
let dir = '';
let other = '';
const fx = exportSuite(t, 'cheshire-export-');
const { clients, faults } = fx;

t.before.each(() => {
  rmSync(join(fx.base, 'x'), { recursive: true, force: true });
  dir = join(fx.base, 'x', 'root');
  other = join(fx.base, 'x', 'other');
  mkdirSync(join(dir, 'sub', 'deep'), { recursive: true });
  mkdirSync(other, { recursive: true });
  writeFileSync(join(dir, 'a.txt'), 'alpha\n');
  writeFileSync(join(dir, 'sub', 'b.txt'), 'bravo\n');
  fx.setTrees({
    '': exportTree(dir, { writable: true }),
    ro: exportTree(dir),
    other: exportTree(other, { writable: true }),
  });
});
/** Each test ends by checking the trees reported no fault (an unexpected non-NineError). */
const test = (name: string, body: () => Promise<void>): void => t(name, async () => {
  faults.length = 0;
  await body();
  assert.equal(faults, [], 'no tree faults');
});

async function connect(version: Dialect = '9P2000.L', aname = ''): Promise<Client> {
  const cl = await Client.connect({ port: fx.port, version, msize: 65536 });
  clients.push(cl);
  await cl.attach({ aname, uname: 'u' });
  return cl;
}

/** Expects `p` to fail with a RemoteError: the errno in .L, the text in 9P2000. */
async function fails(p: Promise<unknown>, expected: number | string, what: string): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, RemoteError, `${what}: ${String(err)}`);
    const e = err as RemoteError;
    if (typeof expected === 'number') assert.is(e.errno, expected, `${what}: errno ${e.errno} (${e.ename})`);
    else assert.is(e.ename, expected, `${what}`);
    return;
  }
  assert.unreachable(`${what} should fail`);
}

const walk = async (cl: Client, path: string): Promise<number> => cl.walkPath(path);
const setattr = (cl: Client, fid: number, s: Partial<Omit<Tsetattr, 'type' | 'tag' | 'fid'>>): Promise<Rsetattr> => cl.rpc({
  type: 'Tsetattr', fid, valid: 0, mode: 0, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n, ...s,
});

for (const dialect of ['9P2000', '9P2000.L'] as const) {
  test(`client (${dialect}): read, write, create, mkdir, rename, remove agree with the disk`, async () => {
    const cl = await connect(dialect);
    assert.is((await cl.readFile('a.txt')).toString(), 'alpha\n');
    assert.is((await cl.readFile('sub/b.txt')).toString(), 'bravo\n');
    assert.equal((await cl.ls('/')).map((e) => e.name).sort(), ['a.txt', 'sub']);
    await cl.writeFile('new.txt', 'written over 9P\n');
    assert.is(readFileSync(join(dir, 'new.txt'), 'utf8'), 'written over 9P\n');
    await cl.writeFile('a.txt', 'short');
    assert.is(readFileSync(join(dir, 'a.txt'), 'utf8'), 'short');
    const big = Buffer.alloc(300_000, 9);
    await cl.writeFile('sub/big', big);
    assert.equal(readFileSync(join(dir, 'sub', 'big')), big);
    assert.equal(await cl.readFile('sub/big'), big);
    await cl.mkdir('m', { perm: 0o750 });
    assert.ok(lstatSync(join(dir, 'm')).isDirectory());
    assert.is(lstatSync(join(dir, 'm')).mode & 0o777, 0o750);
    // rename: wstat name in 9P2000, Trenameat in .L
    const fid = await walk(cl, 'new.txt');
    if (dialect === '9P2000') {
      const st = nullStat();
      st.name = 'renamed.txt';
      await cl.rpc({ type: 'Twstat', fid, stat: st });
    } else {
      await cl.rpc({ type: 'Trename', fid, dfid: await walk(cl, 'm'), name: 'renamed.txt' });
    }
    const where = dialect === '9P2000' ? join(dir, 'renamed.txt') : join(dir, 'm', 'renamed.txt');
    assert.ok(!existsSync(join(dir, 'new.txt')) && existsSync(where));
    // the renamed fid still reads its file
    assert.is((await cl.entry(fid, 'x')).size, 16n);
    await cl.clunk(fid);
    await fails(cl.removePath('sub'), dialect === '9P2000' ? 'directory not empty' : ENOTEMPTY, 'remove of a non-empty dir');
    assert.ok(existsSync(join(dir, 'sub', 'b.txt')));
    await cl.removePath(dialect === '9P2000' ? 'renamed.txt' : 'm/renamed.txt');
    await cl.removePath('m');
    assert.ok(!existsSync(where) && !existsSync(join(dir, 'm')));
    await fails(cl.rpc({ type: 'Twalk', fid: cl.root!, newfid: 99, wnames: ['nope'] }), dialect === '9P2000' ? 'file does not exist' : ENOENT, 'missing file');
  });
}

test('.L getattr and 9P2000 stat report the real mode, size, times, owner and nlink', async () => {
  linkSync(join(dir, 'a.txt'), join(dir, 'a2'));
  const disk = lstatSync(join(dir, 'a.txt'), { bigint: true });
  const cl = await connect();
  const fid = await walk(cl, 'a.txt');
  const a = await cl.getattr(fid, 0x3fffn);
  assert.is(a.mode, S_IFREG | Number(disk.mode & 0o7777n));
  assert.is(a.size, 6n);
  assert.is(a.nlink, 2n);
  assert.is(a.uid, Number(disk.uid));
  assert.is(a.gid, Number(disk.gid));
  assert.is(a.mtimeSec, disk.mtimeNs / 1_000_000_000n);
  assert.is(a.qid.type, QTFILE);
  assert.is(a.qid.path & ((1n << 40n) - 1n), disk.ino, 'qid.path carries the inode number');
  const d = await cl.getattr(await walk(cl, 'sub'));
  assert.is(d.mode & S_IFDIR, S_IFDIR);
  assert.is(d.qid.type, QTDIR);

  const c9 = await connect('9P2000');
  const st = await c9.stat(await walk(c9, 'a.txt'));
  assert.is(st.length, 6n);
  assert.is(st.mode, Number(disk.mode & 0o777n));
  assert.is(st.uid, String(disk.uid));
  assert.is(st.mtime, Number(disk.mtimeNs / 1_000_000_000n));
  assert.is(st.name, 'a.txt');
  const sd = await c9.stat(await walk(c9, 'sub'));
  assert.ok((sd.mode & DMDIR) !== 0);
});

test('.L symlink, readlink and hard link; mknod is EOPNOTSUPP', async () => {
  const cl = await connect();
  const root = cl.root!;
  const r = await cl.rpc({ type: 'Tsymlink', fid: root, name: 'ln', symtgt: 'sub/b.txt', gid: 0 });
  assert.is(r.qid.type, QTSYMLINK);
  assert.is(readlinkSync(join(dir, 'ln')), 'sub/b.txt');
  const w = await cl.walk(root, ['ln']);
  assert.is(w.qids[0]!.type, QTSYMLINK);
  assert.is((await cl.rpc({ type: 'Treadlink', fid: w.fid })).target, 'sub/b.txt');
  assert.is((await cl.getattr(w.fid)).mode & 0o170000, S_IFLNK);
  await fails(cl.open(w.fid, 'r'), ELOOP, 'opening a symlink');
  await fails(cl.rpc({ type: 'Tsymlink', fid: root, name: 'ln', symtgt: 'x', gid: 0 }), EEXIST, 'symlink over an existing name');
  await fails(cl.rpc({ type: 'Treadlink', fid: await walk(cl, 'a.txt') }), EINVAL, 'readlink of a file');
  // hard link
  const target = await walk(cl, 'a.txt');
  await cl.rpc({ type: 'Tlink', dfid: await walk(cl, 'sub'), fid: target, name: 'hard' });
  assert.is(lstatSync(join(dir, 'sub', 'hard')).ino, lstatSync(join(dir, 'a.txt')).ino);
  assert.is((await cl.getattr(target)).nlink, 2n);
  assert.is((await cl.statPath('sub/hard')).qid.path, (await cl.statPath('a.txt')).qid.path);
  await fails(cl.rpc({ type: 'Tlink', dfid: root, fid: await walk(cl, 'sub'), name: 'dirlink' }), EPERM, 'hard link of a directory');
  await fails(cl.rpc({ type: 'Tmknod', dfid: root, name: 'fifo', mode: 0o10644, major: 0, minor: 0, gid: 0 }), EOPNOTSUPP, 'mknod');
  // 9P2000 shows the symlink with DMSYMLINK and will not open it
  const c9 = await connect('9P2000');
  const f9 = await walk(c9, 'ln');
  assert.ok(((await c9.stat(f9)).mode & DMSYMLINK) !== 0);
  await fails(c9.open(f9, 'r'), 'is a symbolic link', 'open of a symlink (9P2000)');
});

test('truncate (setattr size, O_TRUNC, wstat length), chmod, times and chown reach the disk', async () => {
  const cl = await connect();
  const fid = await walk(cl, 'a.txt');
  await setattr(cl, fid, { valid: P9_SETATTR_SIZE, size: 3n });
  assert.is(readFileSync(join(dir, 'a.txt'), 'utf8'), 'alp');
  await setattr(cl, fid, { valid: P9_SETATTR_SIZE, size: 10n });
  assert.equal(readFileSync(join(dir, 'a.txt')), Buffer.from('alp\0\0\0\0\0\0\0'));
  await setattr(cl, fid, { valid: P9_SETATTR_MODE, mode: 0o600 });
  assert.is(lstatSync(join(dir, 'a.txt')).mode & 0o7777, 0o600);
  await setattr(cl, fid, {
    valid: P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET,
    atimeSec: 1_000_000_000n, atimeNsec: 0n, mtimeSec: 1_200_000_000n, mtimeNsec: 500_000_000n,
  });
  const st = lstatSync(join(dir, 'a.txt'));
  assert.is(st.mtimeMs, 1_200_000_000_500);
  assert.is(st.atimeMs, 1_000_000_000_000);
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  await setattr(cl, fid, { valid: P9_SETATTR_UID | P9_SETATTR_GID, uid, gid });
  assert.is(lstatSync(join(dir, 'a.txt')).uid, uid);
  const sized = await walk(cl, 'sub/b.txt');
  await cl.open(sized, 'w', { truncate: true });
  assert.is(lstatSync(join(dir, 'sub', 'b.txt')).size, 0);
  await fails(setattr(cl, await walk(cl, 'sub'), { valid: P9_SETATTR_SIZE, size: 0n }), EISDIR, 'truncate of a directory');
  // the root itself can be chmod'ed and timed
  await setattr(cl, cl.root!, { valid: P9_SETATTR_MODE | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET, mode: 0o710, mtimeSec: 1_300_000_000n, mtimeNsec: 0n });
  assert.is(lstatSync(dir).mode & 0o777, 0o710);
  assert.is(lstatSync(dir).mtimeMs, 1_300_000_000_000);

  const c9 = await connect('9P2000');
  const f9 = await walk(c9, 'a.txt');
  const ws = nullStat();
  ws.length = 1n;
  ws.mode = 0o640;
  ws.mtime = 1_100_000_000;
  await c9.rpc({ type: 'Twstat', fid: f9, stat: ws });
  const after = lstatSync(join(dir, 'a.txt'));
  assert.is(after.size, 1);
  assert.is(after.mode & 0o777, 0o640);
  assert.is(after.mtimeMs, 1_100_000_000_000);
  const bad = nullStat();
  bad.uid = 'nobody-by-that-name';
  await fails(c9.rpc({ type: 'Twstat', fid: f9, stat: bad }), 'unknown user', 'wstat to a non-numeric owner');
});

test('statfs reports the file system; fsync answers on an open file', async () => {
  const cl = await connect();
  const s = await cl.rpc({ type: 'Tstatfs', fid: cl.root! });
  const disk = statfsSync(dir, { bigint: true });
  assert.is(BigInt(s.bsize), disk.bsize);
  assert.is(s.blocks, disk.blocks);
  assert.is(s.namelen, 255);
  const fid = await walk(cl, 'a.txt');
  await fails(cl.rpc({ type: 'Tfsync', fid }), 9, 'fsync of an unopened fid');
  await cl.open(fid, 'rw');
  await cl.write(fid, 0, Buffer.from('ALPHA'));
  await cl.rpc({ type: 'Tfsync', fid });
  assert.is(readFileSync(join(dir, 'a.txt'), 'utf8'), 'ALPHA\n');
});

test('create: the requested mode, O_EXCL, a read-only new file is still writable by its creator', async () => {
  const cl = await connect();
  const d = await walk(cl, 'sub');
  await cl.rpc({ type: 'Tlcreate', fid: d, name: 'ro.txt', flags: L_O_RDWR, mode: 0o444, gid: 0 });
  await cl.write(d, 0, Buffer.from('mine'));
  await cl.clunk(d);
  assert.is(readFileSync(join(dir, 'sub', 'ro.txt'), 'utf8'), 'mine');
  assert.is(lstatSync(join(dir, 'sub', 'ro.txt')).mode & 0o777, 0o444);
  const d2 = await walk(cl, 'sub');
  await fails(cl.rpc({ type: 'Tlcreate', fid: d2, name: 'ro.txt', flags: L_O_RDWR, mode: 0o644, gid: 0 }), EEXIST, 'create over an existing file');
  await cl.rpc({ type: 'Tmkdir', dfid: d2, name: 'open', mode: 0o777, gid: 0 });
  assert.is(lstatSync(join(dir, 'sub', 'open')).mode & 0o777, 0o777, 'umask does not eat the requested bits');
  await fails(cl.rpc({ type: 'Tmkdir', dfid: d2, name: 'x'.repeat(256), mode: 0o755, gid: 0 }), ENAMETOOLONG, 'a 256-byte name');
  await fails(cl.walk(cl.root!, ['x'.repeat(300)]), ENAMETOOLONG, 'walk of a 300-byte name');
  await fails(cl.rpc({ type: 'Twalk', fid: await walk(cl, 'a.txt'), newfid: 99, wnames: ['x'] }), ENOTDIR, 'walk from a file');
  await fails(cl.rpc({ type: 'Tunlinkat', dirfid: cl.root!, name: 'sub', flags: 0 }), EISDIR, 'unlinkat of a directory without AT_REMOVEDIR');
});

test('read-only export: every change is EROFS ("read-only file system" in 9P2000), reads work, disk unchanged', async () => {
  const cl = await connect('9P2000.L', 'ro');
  const root = cl.root!;
  assert.is((await cl.readFile('a.txt')).toString(), 'alpha\n');
  const before = lstatSync(join(dir, 'a.txt'), { bigint: true });
  const a = await walk(cl, 'a.txt');
  const attempts: Array<[string, () => Promise<unknown>]> = [
    ['lcreate', async () => cl.rpc({ type: 'Tlcreate', fid: await walk(cl, 'sub'), name: 'n', flags: L_O_RDWR, mode: 0o644, gid: 0 })],
    ['mkdir', () => cl.rpc({ type: 'Tmkdir', dfid: root, name: 'n', mode: 0o755, gid: 0 })],
    ['symlink', () => cl.rpc({ type: 'Tsymlink', fid: root, name: 'n', symtgt: 'a.txt', gid: 0 })],
    ['link', () => cl.rpc({ type: 'Tlink', dfid: root, fid: a, name: 'n' })],
    ['unlinkat', () => cl.rpc({ type: 'Tunlinkat', dirfid: root, name: 'a.txt', flags: 0 })],
    ['renameat', () => cl.rpc({ type: 'Trenameat', olddirfid: root, oldname: 'a.txt', newdirfid: root, newname: 'b' })],
    ['setattr size', () => setattr(cl, a, { valid: P9_SETATTR_SIZE, size: 0n })],
    ['setattr mode', () => setattr(cl, a, { valid: P9_SETATTR_MODE, mode: 0o777 })],
    ['setattr mtime', () => setattr(cl, a, { valid: P9_SETATTR_MTIME })],
    ['lopen write', async () => cl.rpc({ type: 'Tlopen', fid: await walk(cl, 'a.txt'), flags: L_O_WRONLY })],
    ['lopen trunc', async () => cl.rpc({ type: 'Tlopen', fid: await walk(cl, 'a.txt'), flags: L_O_RDONLY | L_O_TRUNC })],
    ['remove', async () => cl.remove(await walk(cl, 'sub/b.txt'))],
  ];
  for (const [what, f] of attempts) await fails(f(), EROFS, what);
  const c9 = await connect('9P2000', 'ro');
  await fails(c9.open(await walk(c9, 'a.txt'), 'w'), 'read-only file system', 'Topen OWRITE');
  await fails(c9.create(await walk(c9, 'sub'), 'n', { perm: 0o644 }), 'read-only file system', 'Tcreate');
  const st = nullStat();
  st.name = 'renamed';
  await fails(c9.rpc({ type: 'Twstat', fid: await walk(c9, 'a.txt'), stat: st }), 'read-only file system', 'Twstat rename');
  await fails(c9.remove(await walk(c9, 'a.txt')), 'read-only file system', 'Tremove');
  const after = lstatSync(join(dir, 'a.txt'), { bigint: true });
  assert.is(after.mtimeNs, before.mtimeNs);
  assert.is(after.mode, before.mode);
  assert.is(readFileSync(join(dir, 'a.txt'), 'utf8'), 'alpha\n');
  assert.ok(existsSync(join(dir, 'sub', 'b.txt')) && !existsSync(join(dir, 'n')) && !existsSync(join(dir, 'b')));
});

test('qid.path is stable across walks, connections and renames; new for a recreated file; version changes on every write', async () => {
  const cl = await connect();
  const c2 = await connect('9P2000');
  const p1 = (await cl.walk(cl.root!, ['sub', 'b.txt'])).qids[1]!;
  const p2 = (await c2.walk(c2.root!, ['sub', 'b.txt'])).qids[1]!;
  assert.is(p1.path, p2.path);
  assert.is(p1.type, QTFILE);
  const fid = await walk(cl, 'sub/b.txt');
  await cl.open(fid, 'rw');
  const versions = [(await cl.getattr(fid)).qid.version];
  for (let i = 0; i < 3; i++) {
    await cl.write(fid, 0, Buffer.from('same size!')); // same size, likely within one timestamp tick
    versions.push((await cl.getattr(fid)).qid.version);
  }
  assert.is(new Set(versions).size, versions.length, `versions ${versions.join(',')}`);
  writeFileSync(join(dir, 'sub', 'b.txt'), 'changed by another process, longer');
  const v = (await cl.getattr(fid)).qid.version;
  assert.ok(!versions.includes(v), 'a change made on disk changes the version');
  await cl.rpc({ type: 'Trenameat', olddirfid: await walk(cl, 'sub'), oldname: 'b.txt', newdirfid: cl.root!, newname: 'moved' });
  assert.is((await cl.statPath('moved')).qid.path, p1.path);
  assert.is((await cl.getattr(fid)).qid.path, p1.path, 'the open fid follows the rename');
  const old = (await cl.statPath('a.txt')).qid.path;
  await cl.removePath('a.txt');
  await cl.writeFile('a.txt', 'again');
  assert.ok((await cl.statPath('a.txt')).qid.path !== old, 'a recreated file has a new qid.path (inode numbers are reused)');
});

test('another process removing or replacing a file: ESTALE on old fids, new walks see the new file', async () => {
  const cl = await connect();
  const fid = await walk(cl, 'a.txt');
  unlinkSync(join(dir, 'a.txt'));
  writeFileSync(join(dir, 'a.txt'), 'replacement');
  await fails(cl.getattr(fid), ESTALE, 'getattr of a replaced file');
  assert.is((await cl.readFile('a.txt')).toString(), 'replacement');
  const d = await walk(cl, 'sub');
  rmSync(join(dir, 'sub'), { recursive: true });
  await fails(cl.getattr(d), ESTALE, 'getattr of a removed directory');
});

test('rename and link across two exports: EXDEV, nothing moves', async () => {
  const cl = await connect();
  const o = await cl.attach({ aname: 'other', uname: 'u' });
  await fails(cl.rpc({ type: 'Trenameat', olddirfid: cl.root!, oldname: 'a.txt', newdirfid: o.fid, newname: 'a.txt' }), EXDEV, 'renameat across exports');
  await fails(cl.rpc({ type: 'Trename', fid: await walk(cl, 'a.txt'), dfid: o.fid, name: 'a.txt' }), EXDEV, 'rename across exports');
  await fails(cl.rpc({ type: 'Tlink', dfid: o.fid, fid: await walk(cl, 'a.txt'), name: 'l' }), EXDEV, 'link across exports');
  assert.ok(existsSync(join(dir, 'a.txt')));
  assert.equal((await cl.ls('/', { from: o.fid })).length, 0);
});

test('9P2000 create/open modes and reading a directory of many files', async () => {
  for (let i = 0; i < 300; i++) writeFileSync(join(dir, 'sub', 'deep', `f${i}`), String(i));
  const c9 = await connect('9P2000');
  const names = (await c9.ls('sub/deep')).map((e) => e.name);
  assert.is(names.length, 300);
  const cl = await connect();
  const entries = await cl.ls('sub/deep');
  assert.is(entries.length, 300);
  assert.ok(entries.every((e) => e.size > 0n));
  const d = await walk(c9, 'sub');
  await c9.create(d, 'c.txt', { perm: 0o600, access: 'rw' });
  await c9.write(d, 0, Buffer.from('nine'));
  assert.is(readFileSync(join(dir, 'sub', 'c.txt'), 'utf8'), 'nine');
  const f = await walk(c9, 'sub/c.txt');
  await c9.rpc({ type: 'Topen', fid: f, mode: OREAD });
  assert.is(Buffer.from(await c9.read(f, 1, 10)).toString(), 'ine');
  const w = await walk(c9, 'sub/c.txt');
  await c9.rpc({ type: 'Topen', fid: w, mode: OWRITE });
  await fails(c9.read(w, 0, 10), 'fid not open for reading', 'read on a write-only fid');
  const rw = await walk(c9, 'sub/c.txt');
  await c9.rpc({ type: 'Topen', fid: rw, mode: ORDWR });
  await c9.write(rw, 4, Buffer.from('!'));
  assert.is(readFileSync(join(dir, 'sub', 'c.txt'), 'utf8'), 'nine!');
});

test('read-ahead of a sequential reader: writes through the export and growth of the file are seen', async () => {
  const chunk = 4096;
  const content = Buffer.alloc(chunk * 64);
  for (let i = 0; i < 64; i++) content.fill(65 + (i % 26), i * chunk, (i + 1) * chunk);
  writeFileSync(join(dir, 'seq'), content);
  const cl = await connect();
  const r = await walk(cl, 'seq');
  await cl.open(r, 'r');
  const w = await walk(cl, 'seq');
  await cl.open(w, 'w');
  // Three sequential reads: the read-ahead now holds what follows.
  for (let i = 0; i < 3; i++) assert.equal(Buffer.from(await cl.read(r, i * chunk, chunk)), content.subarray(i * chunk, (i + 1) * chunk));
  // Written through another fid of the same file: the next reads must see it, not the chunk read ahead.
  await cl.write(w, 3 * chunk, Buffer.alloc(chunk, 'x'));
  await cl.write(w, 5 * chunk, Buffer.alloc(chunk, 'y'));
  assert.equal(Buffer.from(await cl.read(r, 3 * chunk, chunk)), Buffer.alloc(chunk, 'x'));
  assert.equal(Buffer.from(await cl.read(r, 4 * chunk, chunk)), content.subarray(4 * chunk, 5 * chunk));
  assert.equal(Buffer.from(await cl.read(r, 5 * chunk, chunk)), Buffer.alloc(chunk, 'y'));
  // To the end, then a local append: a reader at the end sees the growth, not a cached end of file.
  for (let i = 6; i < 64; i++) assert.equal(Buffer.from(await cl.read(r, i * chunk, chunk)), content.subarray(i * chunk, (i + 1) * chunk));
  assert.is((await cl.read(r, 64 * chunk, chunk)).length, 0);
  writeFileSync(join(dir, 'seq'), 'more', { flag: 'a' });
  assert.is(Buffer.from(await cl.read(r, 64 * chunk, chunk)).toString(), 'more');
  // Out of order: plain reads.
  assert.equal(Buffer.from(await cl.read(r, 10, 5)), content.subarray(10, 15));
});

test('a long sequential read (read-ahead blocks read synchronously once the file shows cached) is exact, writes included', async () => {
  const chunk = 65536 - 24; // the iounit at msize 64 KiB, as diodcat reads
  const content = Buffer.alloc(chunk * 64);
  for (let i = 0; i < content.length; i += 4) content.writeUInt32LE(i, i);
  writeFileSync(join(dir, 'long'), content);
  const cl = await connect();
  const r = await walk(cl, 'long');
  await cl.open(r, 'r');
  const w = await walk(cl, 'long');
  await cl.open(w, 'w');
  const expect = Buffer.from(content);
  for (let i = 0; i < 64; i++) {
    if (i === 20) {
      // Written through the export while blocks beyond it are read ahead: seen when reached.
      await cl.write(w, 40 * chunk + 100, Buffer.alloc(1000, 'z'));
      expect.fill('z', 40 * chunk + 100, 40 * chunk + 1100);
    }
    const got = Buffer.from(await cl.read(r, i * chunk, chunk));
    assert.ok(got.equals(expect.subarray(i * chunk, (i + 1) * chunk)), `chunk ${i} differs`);
  }
  assert.is((await cl.read(r, 64 * chunk, chunk)).length, 0);
});

test('pooled read-ahead buffers: replies queued behind a slow reader keep their bytes while another file streams', async () => {
  const size = 24 << 20; // more than the socket buffers hold, so replies queue in the server
  const pattern = (k: number): Buffer => {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) b.writeUInt32LE((i * k) >>> 0, i);
    return b;
  };
  const fa = pattern(3);
  const fb = pattern(7);
  writeFileSync(join(dir, 'fa'), fa);
  writeFileSync(join(dir, 'fb'), fb);
  const raw = await RawConn.negotiated(fx.port, '9P2000.L', 65536);
  try {
    assert.is((await raw.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 })).type, 'Rattach');
    assert.is((await raw.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: ['fa'] })).type, 'Rwalk');
    assert.is((await raw.call({ type: 'Tlopen', fid: 2, flags: L_O_RDONLY })).type, 'Rlopen');
    const count = 65512;
    const n = Math.ceil(size / count);
    // A few reads one at a time start the read-ahead; then the reader asks for all the rest at
    // once and reads nothing yet: its replies (views of read-ahead blocks) queue behind full
    // socket buffers while the blocks they come from are dropped.
    const first = 4;
    for (let i = 0; i < first; i++) {
      const r = await raw.call({ type: 'Tread', fid: 2, offset: BigInt(i * count), count });
      assert.ok(Buffer.from((r as { data: Uint8Array }).data).equals(fa.subarray(i * count, (i + 1) * count)));
    }
    raw.socket.pause();
    for (let i = first; i < n; i++) raw.send({ type: 'Tread', tag: 100 + i, fid: 2, offset: BigInt(i * count), count });
    await new Promise((r) => setTimeout(r, 100));
    // Meanwhile fb streams through the same pool of block buffers.
    const cl = await connect();
    assert.ok(Buffer.from(await cl.readFile('fb')).equals(fb), 'fb read intact');
    raw.socket.resume();
    for (let i = first; i < n; i++) {
      const r = await raw.reply(100 + i, `Rread ${i}`, 10_000);
      assert.is(r.type, 'Rread');
      const got = Buffer.from((r as { data: Uint8Array }).data);
      assert.ok(got.equals(fa.subarray(i * count, Math.min(size, (i + 1) * count))), `fa chunk ${i} changed while it waited to be sent`);
    }
  } finally {
    raw.close();
  }
});

test('a walk right after a listing answers from it; the getattr after it still sees a replaced file', async () => {
  const cl = await connect();
  assert.ok((await cl.ls('sub', { attrs: false })).some((e) => e.name === 'b.txt'));
  const fid = await walk(cl, 'sub/b.txt');
  // Made before the old one goes, so it cannot get its inode number back.
  writeFileSync(join(dir, 'sub', 'new'), 'replacement');
  renameSync(join(dir, 'sub', 'new'), join(dir, 'sub', 'b.txt'));
  await fails(cl.getattr(fid), ESTALE, 'getattr of a file replaced after the listing');
  assert.is((await cl.readFile('sub/b.txt')).toString(), 'replacement');
});

t.run();
