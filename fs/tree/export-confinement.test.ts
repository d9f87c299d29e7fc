// Escape attempts against the local export (fs/tree/export.ts header, "Confinement"): each one
// must fail AND leave everything outside the root unread and unwritten. Outside the root sits
// `outside/` with sentinel files; after every test its listing, contents, sizes, modes, link
// counts, mtimes and ctimes must be unchanged, and (where the file system updates atime on read)
// its atimes too: nothing was even read. No reply may carry the sentinel text.
import {
  closeSync, constants, existsSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EINVAL, ELOOP, ENAMETOOLONG, ENOTDIR, EOPNOTSUPP, EROFS, ESTALE, EXDEV, L_O_RDONLY, L_O_RDWR, L_O_TRUNC, L_O_WRONLY, MSG,
  nullStat, OREAD, OTRUNC, OWRITE, P9_SETATTR_GID, P9_SETATTR_MODE, P9_SETATTR_MTIME, P9_SETATTR_SIZE, P9_SETATTR_UID,
  QTSYMLINK,
} from '../codec/index.ts';
import type { Dialect, Msg, Rsetattr, Tsetattr } from '../codec/index.ts';
import { Client } from '../client/client.ts';
import { NineError, RemoteError } from '../errors.ts';
import { exportSuite } from '../testing/export-suite.ts';
import { errorOf, RawConn } from '../testing/raw.ts';
import { exportTree } from './export.ts';
import type { ExportNode } from './export.ts';
import { memfs } from './memfs.ts';

const SECRET = 'TOP SECRET sentinel\n';
const t = suite('export confinement');
let root = '';
let outside = '';
let atimeWorks = false;
let snap = new Map<string, string>();
const conns: RawConn[] = [];
// Does this file system record reads in atime (not noatime)? Then atimes prove nothing was read.
const fx = exportSuite(t, 'cheshire-confine-', (base) => {
  const probe = join(base, 'probe');
  writeFileSync(probe, 'x');
  utimesSync(probe, new Date(1_000_000_000_000), new Date());
  readFileSync(probe);
  atimeWorks = lstatSync(probe).atimeMs !== 1_000_000_000_000;
  rmSync(probe);
});
const { clients, faults } = fx;
/** Every byte any reply carried, to check the sentinel never left. */
const seen: Buffer[] = [];

/** A file's content read with O_NOATIME, so that checking does not count as a read. */
function peek(p: string): string {
  const fd = openSync(p, constants.O_RDONLY | constants.O_NOATIME);
  try {
    const buf = Buffer.alloc(4096);
    return buf.subarray(0, readSync(fd, buf)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Everything about `outside` that a read or a write would change (atimes of files only: listing a directory here updates its own). */
function snapshot(): Map<string, string> {
  const m = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p, { bigint: true });
      const content = s.isFile() ? peek(p) : s.isSymbolicLink() ? 'link' : 'dir';
      m.set(p, JSON.stringify([content, String(s.size), String(s.mode), String(s.nlink), String(s.ino), String(s.mtimeNs),
        String(s.ctimeNs), atimeWorks && s.isFile() ? String(s.atimeNs) : '']));
      if (s.isDirectory()) walk(p);
    }
  };
  walk(outside);
  return m;
}

/** Old atimes (before mtime), so that a read of a sentinel under relatime would update them. */
function ageAtimes(d: string): void {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    const s = lstatSync(p);
    if (s.isDirectory()) ageAtimes(p);
    if (!s.isSymbolicLink()) utimesSync(p, new Date(1_000_000_000_000), s.mtime);
  }
}

t.before.each(() => {
  rmSync(join(fx.base, 'x'), { recursive: true, force: true });
  root = join(fx.base, 'x', 'root');
  outside = join(fx.base, 'x', 'outside');
  mkdirSync(join(root, 'd'), { recursive: true });
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'd', 'f'), 'inside\n');
  writeFileSync(join(root, 'a', 'b', 'f'), 'inside too\n');
  mkdirSync(join(outside, 'd'), { recursive: true });
  mkdirSync(join(outside, 'a', 'b'), { recursive: true });
  writeFileSync(join(outside, 'secret'), SECRET);
  writeFileSync(join(outside, 'd', 'f'), SECRET);
  writeFileSync(join(outside, 'a', 'b', 'f'), SECRET);
  symlinkSync('../outside/secret', join(root, 'esc-rel'));
  symlinkSync(join(outside, 'secret'), join(root, 'esc-abs'));
  symlinkSync('../../../../../../../../..' + join(outside, 'secret'), join(root, 'esc-deep'));
  symlinkSync('../outside', join(root, 'esc-dir'));
  symlinkSync('..', join(root, 'esc-dotdot'));
  ageAtimes(outside);
  fx.setTrees({ '': exportTree(root, { writable: true }), other: exportTree(outside) });
  snap = snapshot();
});
t.after.each(() => {
  for (const c of conns.splice(0)) c.close();
});

/** A test whose end checks that nothing outside was touched or shown. */
function attempt(name: string, body: () => Promise<void>): void {
  t(name, async () => {
    seen.length = 0;
    faults.length = 0;
    await body();
    assert.equal(faults, [], 'no tree faults');
    assert.equal(Object.fromEntries(snapshot()), Object.fromEntries(snap), 'nothing outside the root was read or changed');
    for (const b of seen) assert.not.ok(b.includes(SECRET.trim()), 'a reply carried the sentinel');
  });
}

async function connect(version: Dialect = '9P2000.L'): Promise<Client> {
  const cl = await Client.connect({ port: fx.port, version, msize: 65536 });
  clients.push(cl);
  const rpc = cl.rpc.bind(cl);
  // Record every reply's bytes (reads, readlink, stat names...).
  cl.rpc = (async (m: Parameters<Client['rpc']>[0], signal?: AbortSignal) => {
    const r = await rpc(m, signal);
    seen.push(Buffer.from(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v))));
    return r;
  }) as Client['rpc'];
  await cl.attach({ uname: 'u' });
  return cl;
}

async function fails(p: unknown, expected: number | string | undefined, what: string): Promise<void> {
  try {
    const r = await p;
    seen.push(Buffer.from(JSON.stringify(r ?? null, (_k, v) => (typeof v === 'bigint' ? String(v) : v))));
  } catch (err) {
    if (!(err instanceof RemoteError) && !(err instanceof NineError)) throw err;
    const errno = err.errno;
    if (typeof expected === 'number') assert.is(errno, expected, `${what}: errno ${errno} (${err.message})`);
    if (typeof expected === 'string') assert.is((err as RemoteError).ename, expected, what);
    return;
  }
  assert.unreachable(`${what} should fail`);
}

const walk = (cl: Client, path: string): Promise<number> => cl.walkPath(path);
const setattr = (cl: Client, fid: number, s: Partial<Omit<Tsetattr, 'type' | 'tag' | 'fid'>>): Promise<Rsetattr> => cl.rpc({
  type: 'Tsetattr', fid, valid: 0, mode: 0, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n, ...s,
});
/** Walk that may be short: resolves with the qids it got (an error counts as none). */
const tryWalk = async (cl: Client, names: string[]): Promise<number> => {
  try {
    const r = await cl.rpc({ type: 'Twalk', fid: cl.root!, newfid: 4000, wnames: names });
    if (r.wqids.length === names.length) await cl.rpc({ type: 'Tclunk', fid: 4000 });
    return r.wqids.length;
  } catch {
    return 0;
  }
};

attempt('symlinks pointing out (relative, absolute, deep "../..", to a directory, to "..") are text only', async () => {
  const cl = await connect();
  for (const [name, text] of [
    ['esc-rel', '../outside/secret'], ['esc-abs', join(outside, 'secret')], ['esc-deep', `../../../../../../../../..${join(outside, 'secret')}`],
    ['esc-dir', '../outside'], ['esc-dotdot', '..'],
  ] as const) {
    const w = await cl.walk(cl.root!, [name]);
    assert.is(w.qids[0]!.type, QTSYMLINK, name);
    assert.is((await cl.rpc({ type: 'Treadlink', fid: w.fid })).target, text);
    assert.is((await cl.getattr(w.fid)).size, BigInt(Buffer.byteLength(text)), `${name}: the link's own size, not its target's`);
    await fails(cl.open(w.fid, 'r'), ELOOP, `open ${name}`);
    const w2 = await walk(cl, name);
    await fails(cl.rpc({ type: 'Tlopen', fid: w2, flags: L_O_WRONLY | L_O_TRUNC }), ELOOP, `open ${name} O_TRUNC`);
    await fails(setattr(cl, w2, { valid: P9_SETATTR_SIZE, size: 0n }), EINVAL, `truncate ${name}`);
    await fails(setattr(cl, w2, { valid: P9_SETATTR_MODE, mode: 0o777 }), EOPNOTSUPP, `chmod ${name}`);
    // times and owner apply to the link itself (lutimes/lchown), never to its target
    await setattr(cl, w2, { valid: P9_SETATTR_MTIME });
    await setattr(cl, w2, { valid: P9_SETATTR_UID | P9_SETATTR_GID, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 });
    // never walked through
    assert.is(await tryWalk(cl, [name, 'secret']), 1, `walk ${name}/secret stops at the link`);
    assert.is(await tryWalk(cl, [name, 'd', 'f']), 1);
    await fails(cl.rpc({ type: 'Tlcreate', fid: await walk(cl, name), name: 'planted', flags: L_O_RDWR, mode: 0o644, gid: 0 }), ENOTDIR, `create in ${name}`);
    await fails(cl.rpc({ type: 'Tmkdir', dfid: w2, name: 'planted', mode: 0o755, gid: 0 }), ENOTDIR, `mkdir in ${name}`);
    await fails(cl.rpc({ type: 'Tsymlink', fid: w2, name: 'planted', symtgt: 'x', gid: 0 }), ENOTDIR, `symlink in ${name}`);
    await fails(cl.rpc({ type: 'Tunlinkat', dirfid: w2, name: 'secret', flags: 0 }), ENOTDIR, `unlink in ${name}`);
    await fails(cl.rpc({ type: 'Trenameat', olddirfid: cl.root!, oldname: 'd', newdirfid: w2, newname: 'stolen' }), ENOTDIR, `rename into ${name}`);
    await fails(cl.rpc({ type: 'Trenameat', olddirfid: w2, oldname: 'secret', newdirfid: cl.root!, newname: 'stolen' }), ENOTDIR, `rename out of ${name}`);
  }
  // ".." at the root stays there; "outside" is not a name in the root
  assert.is(await tryWalk(cl, ['..', '..', 'outside', 'secret']), 2);
  // 9P2000: the same links show DMSYMLINK and can be neither opened nor written
  const c9 = await connect('9P2000');
  for (const name of ['esc-rel', 'esc-abs', 'esc-dir']) {
    await fails(c9.rpc({ type: 'Topen', fid: await walk(c9, name), mode: OREAD }), 'is a symbolic link', `Topen ${name}`);
    await fails(c9.rpc({ type: 'Topen', fid: await walk(c9, name), mode: OWRITE | OTRUNC }), 'is a symbolic link', `Topen ${name} OTRUNC`);
    const st = nullStat();
    st.length = 0n;
    await fails(c9.rpc({ type: 'Twstat', fid: await walk(c9, name), stat: st }), undefined, `Twstat length ${name}`);
    await fails(c9.create(await walk(c9, name), 'planted', { perm: 0o644 }), undefined, `Tcreate in ${name}`);
  }
  // renaming over a symlink replaces the link, never writes through it (a directory cannot
  // replace a non-directory: ENOTDIR, as rename(2) says)
  await fails(cl.rpc({ type: 'Trenameat', olddirfid: cl.root!, oldname: 'd', newdirfid: cl.root!, newname: 'esc-dir' }), ENOTDIR, 'rename a dir over a symlink');
  await cl.rpc({ type: 'Trenameat', olddirfid: await walk(cl, 'd'), oldname: 'f', newdirfid: cl.root!, newname: 'esc-dir' });
  assert.is(readFileSync(join(root, 'esc-dir'), 'utf8'), 'inside\n');
  await cl.writeFile('over', 'mine');
  await cl.rpc({ type: 'Trenameat', olddirfid: cl.root!, oldname: 'over', newdirfid: cl.root!, newname: 'esc-rel' });
  assert.is(readFileSync(join(root, 'esc-rel'), 'utf8'), 'mine');
  // a symlink created by a client is text too, wherever it points
  await cl.rpc({ type: 'Tsymlink', fid: cl.root!, name: 'mine', symtgt: '/', gid: 0 });
  assert.is(await tryWalk(cl, ['mine', 'etc']), 1);
});

attempt('a directory swapped for a symlink to the outside between walk and use: ESTALE, nothing read or written', async () => {
  const cl = await connect();
  type Fids = { f: number; d: number; deep: number; deepDir: number; other: number };
  // Each step gets fresh fids walked before the swap, so the tree's own checks answer (not the
  // session's memory of a node already found stale).
  const steps: Array<[string, (x: Fids) => Promise<unknown>]> = [
    ['open d/f', (x) => cl.open(x.f, 'r')],
    ['getattr a/b/f', (x) => cl.getattr(x.deep)],
    ['open a/b/f for writing with O_TRUNC', (x) => cl.rpc({ type: 'Tlopen', fid: x.deep, flags: L_O_WRONLY | L_O_TRUNC })],
    ['lopen d', (x) => cl.open(x.d, 'r')],
    ['getattr d', (x) => cl.getattr(x.d)],
    ['create in a/b', (x) => cl.rpc({ type: 'Tlcreate', fid: x.deepDir, name: 'planted', flags: L_O_RDWR, mode: 0o644, gid: 0 })],
    ['mkdir in a/b', (x) => cl.rpc({ type: 'Tmkdir', dfid: x.deepDir, name: 'planted', mode: 0o755, gid: 0 })],
    ['symlink in a/b', (x) => cl.rpc({ type: 'Tsymlink', fid: x.deepDir, name: 'planted', symtgt: 'x', gid: 0 })],
    ['walk in a/b', (x) => cl.rpc({ type: 'Twalk', fid: x.deepDir, newfid: 77, wnames: ['f'] })],
    ['unlink f in a/b', (x) => cl.rpc({ type: 'Tunlinkat', dirfid: x.deepDir, name: 'f', flags: 0 })],
    ['unlink f in d', (x) => cl.rpc({ type: 'Tunlinkat', dirfid: x.d, name: 'f', flags: 0 })],
    ['remove d/f', (x) => cl.remove(x.f)],
    ['rename into a/b', (x) => cl.rpc({ type: 'Trenameat', olddirfid: cl.root!, oldname: 'esc-rel', newdirfid: x.deepDir, newname: 'planted' })],
    ['rename out of a/b', (x) => cl.rpc({ type: 'Trenameat', olddirfid: x.deepDir, oldname: 'f', newdirfid: cl.root!, newname: 'stolen' })],
    ['rename of d/f', (x) => cl.rpc({ type: 'Trename', fid: x.f, dfid: cl.root!, name: 'stolen' })],
    ['link into a/b', (x) => cl.rpc({ type: 'Tlink', dfid: x.deepDir, fid: x.other, name: 'planted' })],
    ['link of d/f', (x) => cl.rpc({ type: 'Tlink', dfid: cl.root!, fid: x.f, name: 'stolen' })],
    ['setattr size of d/f', (x) => setattr(cl, x.f, { valid: P9_SETATTR_SIZE, size: 0n })],
    ['setattr mode of d', (x) => setattr(cl, x.d, { valid: P9_SETATTR_MODE, mode: 0o777 })],
    ['setattr mtime of a/b/f', (x) => setattr(cl, x.deep, { valid: P9_SETATTR_MTIME })],
    ['statfs in a/b', (x) => cl.rpc({ type: 'Tstatfs', fid: x.deepDir })],
  ];
  for (const [what, step] of steps) {
    if (existsSync(join(root, 'd.old'))) {
      rmSync(join(root, 'd'));
      renameSync(join(root, 'd.old'), join(root, 'd'));
      rmSync(join(root, 'a'));
      renameSync(join(root, 'a.old'), join(root, 'a'));
    }
    const x: Fids = {
      f: await walk(cl, 'd/f'), d: await walk(cl, 'd'), deep: await walk(cl, 'a/b/f'), deepDir: await walk(cl, 'a/b'),
      other: await walk(cl, 'esc-rel'),
    };
    renameSync(join(root, 'd'), join(root, 'd.old'));
    symlinkSync('../outside/d', join(root, 'd'));
    renameSync(join(root, 'a'), join(root, 'a.old'));
    symlinkSync(join(outside, 'a'), join(root, 'a'));
    await fails(step(x), ESTALE, what);
    for (const fid of Object.values(x)) await cl.clunk(fid).catch(() => undefined);
  }
  // fresh walks see the symlinks, which are not walked through
  assert.is(await tryWalk(cl, ['d', 'f']), 1);
  assert.is(await tryWalk(cl, ['a', 'b', 'f']), 1);
  assert.is(readFileSync(join(root, 'd.old', 'f'), 'utf8'), 'inside\n');
  assert.not.ok(existsSync(join(root, 'stolen')) || existsSync(join(root, 'planted')));
});

attempt('a file swapped for a symlink between walk and open: ESTALE, never truncated or read', async () => {
  const cl = await connect();
  const f = await walk(cl, 'd/f');
  const g = await walk(cl, 'd/f');
  renameSync(join(root, 'd', 'f'), join(root, 'd', 'f.old'));
  symlinkSync(join(outside, 'secret'), join(root, 'd', 'f'));
  await fails(cl.rpc({ type: 'Tlopen', fid: f, flags: L_O_RDWR | L_O_TRUNC }), ESTALE, 'open O_TRUNC');
  await fails(setattr(cl, g, { valid: P9_SETATTR_MODE, mode: 0o777 }), ESTALE, 'chmod');
  const c9 = await connect('9P2000');
  const f9 = await walk(c9, 'd/f.old');
  renameSync(join(root, 'd', 'f.old'), join(root, 'd', 'f.older'));
  symlinkSync(join(outside, 'secret'), join(root, 'd', 'f.old'));
  await fails(c9.rpc({ type: 'Topen', fid: f9, mode: OREAD }), undefined, 'Topen of a swapped file');
});

attempt('hard links: only nodes of this export (EXDEV otherwise); linking a symlink links the symlink', async () => {
  const cl = await connect();
  const o = await cl.attach({ aname: 'other', uname: 'u' });
  const secret = (await cl.walk(o.fid, ['secret'])).fid;
  await fails(cl.rpc({ type: 'Tlink', dfid: cl.root!, fid: secret, name: 'stolen' }), EXDEV, 'link of a file from another export');
  // the other export is read-only: it refuses first; from ours, the other tree is EXDEV
  await fails(cl.rpc({ type: 'Trenameat', olddirfid: o.fid, oldname: 'secret', newdirfid: cl.root!, newname: 'stolen' }), EROFS, 'rename in from another export');
  await fails(cl.rpc({ type: 'Trename', fid: secret, dfid: cl.root!, name: 'stolen' }), EROFS, 'rename in from another (read-only) export');
  await fails(cl.rpc({ type: 'Trenameat', olddirfid: cl.root!, oldname: 'd', newdirfid: o.fid, newname: 'd2' }), EXDEV, 'rename out to another export');
  assert.not.ok(existsSync(join(root, 'stolen')));
  await cl.rpc({ type: 'Tlink', dfid: cl.root!, fid: await walk(cl, 'esc-rel'), name: 'hl' });
  assert.ok(lstatSync(join(root, 'hl')).isSymbolicLink(), 'the new name is the symlink, not its target');
  assert.is(lstatSync(join(root, 'hl')).ino, lstatSync(join(root, 'esc-rel')).ino);
  await fails(cl.open(await walk(cl, 'hl'), 'r'), ELOOP, 'open of the linked symlink');
  // the Node API refuses foreign nodes the same way
  const tree = fx.trees['']! as ExportNode;
  const foreign = memfs();
  await fails(tree.link('x', foreign), EXDEV, 'link of a memfs node');
  await fails(tree.rename('d', foreign, 'x'), EXDEV, 'rename to a memfs dir');
  const otherSecret = await (fx.trees.other! as ExportNode).lookup('secret');
  await fails(tree.link('x', otherSecret!), EXDEV, 'link of a node of another export');
});

attempt('names: NUL, "/", "..", ".", "" and over 255 bytes are refused by the tree and on the wire', async () => {
  const tree = fx.trees['']! as ExportNode;
  const owner = { nUid: 0, nGid: 0, uid: 'u' };
  for (const [name, errno] of [
    ['a\0b', EINVAL], ['../outside', EINVAL], ['/etc', EINVAL], [join(outside, 'secret'), EINVAL], ['..', EINVAL], ['.', EINVAL], ['', EINVAL],
    ['x'.repeat(256), ENAMETOOLONG], ['é'.repeat(128), ENAMETOOLONG],
  ] as const) {
    await fails(Promise.resolve().then(() => tree.lookup(name)), errno, `lookup ${JSON.stringify(name.slice(0, 20))}`);
    await fails(tree.create({ name, dir: false, perm: 0o644, ...owner }), errno, `create ${name.slice(0, 20)}`);
    await fails(tree.create({ name, dir: true, perm: 0o755, ...owner }), errno, `mkdir ${name.slice(0, 20)}`);
    await fails(tree.symlink(name, 'x'), errno, `symlink ${name.slice(0, 20)}`);
    await fails(tree.unlink(name), errno, `unlink ${name.slice(0, 20)}`);
    await fails(tree.rename('d', tree, name), errno, `rename to ${name.slice(0, 20)}`);
    await fails(tree.rename(name, tree, 'x'), errno, `rename from ${name.slice(0, 20)}`);
  }
  await fails(tree.symlink('nul', 'a\0b'), EINVAL, 'symlink target with NUL');
  await tree.create({ name: 'y'.repeat(255), dir: false, perm: 0o644, ...owner });
  assert.ok(existsSync(join(root, 'y'.repeat(255))), 'a 255-byte name is fine');

  const cl = await connect();
  for (const name of ['../escape', '/escape', 'a/b', '..', '.', '']) {
    await fails(cl.rpc({ type: 'Tlcreate', fid: await walk(cl, 'd'), name, flags: L_O_RDWR, mode: 0o644, gid: 0 }), undefined, `Tlcreate ${name}`);
    await fails(cl.rpc({ type: 'Tmkdir', dfid: cl.root!, name, mode: 0o755, gid: 0 }), undefined, `Tmkdir ${name}`);
    await fails(cl.rpc({ type: 'Tsymlink', fid: cl.root!, name, symtgt: 'x', gid: 0 }), undefined, `Tsymlink ${name}`);
    await fails(cl.rpc({ type: 'Trenameat', olddirfid: cl.root!, oldname: 'd', newdirfid: cl.root!, newname: name }), undefined, `Trenameat to ${name}`);
    await fails(cl.rpc({ type: 'Tlink', dfid: cl.root!, fid: await walk(cl, 'd/f'), name }), undefined, `Tlink ${name}`);
  }
  // A NUL inside a wire string: the codec refuses it before the tree sees it.
  const c = await RawConn.negotiated(fx.port, '9P2000.L');
  conns.push(c);
  const att: Msg = await c.call({ type: 'Tattach', fid: 1, afid: 0xffffffff, uname: 'u', aname: '', nUname: 0 });
  assert.is(att.type, 'Rattach');
  const bad = Buffer.from([0, 0, 0, 0, MSG.Twalk, 8, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 4, 0, 0x2e, 0x2e, 0, 0x78]);
  bad.writeUInt32LE(bad.length, 0);
  c.sendBytes(bad);
  assert.ok(errorOf(await c.reply(8, 'reply to a Twalk with "..\\0x"')) !== undefined);
  assert.equal(readdirSync(root).sort(), ['a', 'd', 'esc-abs', 'esc-deep', 'esc-dir', 'esc-dotdot', 'esc-rel', 'y'.repeat(255)]);
});

attempt('the root: reached through a symlink it is resolved once; replaced by a symlink, every fid is stale', async () => {
  symlinkSync(root, join(fx.base, 'x', 'rootlink'));
  fx.trees.viaLink = exportTree(join(fx.base, 'x', 'rootlink'), { writable: true });
  const cl = await Client.connect({ port: fx.port, msize: 65536 });
  clients.push(cl);
  await cl.attach({ aname: 'viaLink', uname: 'u' });
  assert.is((await cl.readFile('d/f')).toString(), 'inside\n');
  const d = await walk(cl, 'd');
  renameSync(root, join(fx.base, 'x', 'root.old'));
  symlinkSync(outside, root);
  // the export stays on the directory it resolved; a root replaced under it is stale
  await fails(cl.getattr(cl.root!), ESTALE, 'getattr of the root');
  await fails(cl.getattr(d), ESTALE, 'getattr below the root');
  await fails(cl.rpc({ type: 'Twalk', fid: cl.root!, newfid: 50, wnames: ['secret'] }), ESTALE, 'walk from the root');
  const c2 = await connect();
  await fails(c2.rpc({ type: 'Twalk', fid: c2.root!, newfid: 50, wnames: ['secret'] }), ESTALE, 'walk in a new session');
  await fails(c2.rpc({ type: 'Tlopen', fid: c2.root!, flags: L_O_RDONLY }), ESTALE, 'open of the root');
  // put things back so the after-hook's outside check sees the real outside dir
  rmSync(root);
  renameSync(join(fx.base, 'x', 'root.old'), root);
});

t.run();
