// RemoteTree's kept fids and attribute cache (fs/tree/remote/cache.ts, docs/exports.md "Grafts:
// kept fids and the attribute cache"), against real servers: our NineServer over a memfs (or
// diod) as the remote, relayed through a second NineServer, used through our client. What a
// client of the relay sees:
//   - a change made through the relay is visible at once (any connection), cache on or off
//     (our server over a memfs, and diod over a temp dir for hard links and symlinks);
//   - a change made directly on the remote is visible after attrMs with the cache on, at once
//     with it off (attrMs 0);
//   - remote requests per operation (the remote server's own counters): a cached stat costs none,
//     a lookup one Twalk with its Tgetattr sent along, metadata requests no walk from the root;
//   - after a reconnect nothing of the old connection's fids or attributes is used.
import { appendFile, chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startDiod } from '../../test/helpers/diod.ts';
import type { DiodServer } from '../../test/helpers/diod.ts';
import { Client } from '../client/client.ts';
import { ENOENT, ESTALE } from '../codec/index.ts';
import { RemoteError } from '../errors.ts';
import { NineServer } from '../server/server.ts';
import type { ServerOptions } from '../server/server.ts';
import { memfs } from './memfs.ts';
import type { MemDir, MemFile } from './memfs.ts';
import { RemoteTree } from './remote.ts';
import { cacheOf } from './remote/cache.ts';
import type { RemoteTreeOptions } from './remote.ts';
import type { Node } from './types.ts';
import { closers, within } from '../../test/helpers/deadline.ts';

const { later, cleanup } = closers();
test.after.each(cleanup);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const faults: unknown[] = [];

async function serve(tree: Node, opts: Partial<ServerOptions> = {}, port = 0): Promise<{ server: NineServer; port: number }> {
  const server = new NineServer({ attach: () => tree, onError: (e) => faults.push(e), ...opts });
  const addr = await server.listen(port, '127.0.0.1');
  later(() => server.close());
  return { server, port: addr.port };
}

async function relay(opts: RemoteTreeOptions): Promise<RemoteTree> {
  const rt = await within(RemoteTree.connect({ timeoutMs: 3000, ...opts }), 5000, `RemoteTree.connect to ${opts.port}`);
  later(() => rt.close());
  return rt;
}

async function client(port: number): Promise<Client> {
  const cl = await Client.connect({ port, timeoutMs: 3000 });
  later(() => cl.close());
  await cl.attach({ uname: 'u' });
  return cl;
}

const owner = { nUid: 0, nGid: 0, uid: 'u' };
function sample(): MemDir {
  const r = memfs();
  (r.create({ name: 'f', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('hello'));
  const d = r.create({ name: 'd', dir: true, perm: 0o755, ...owner }) as MemDir;
  (d.create({ name: 'g', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('g\n'));
  return r;
}

/** Folder `small` in `mem` holding s0..s{n-1}, each file's content its number. */
function smallDir(mem: MemDir, n: number): MemDir {
  const small = mem.create({ name: 'small', dir: true, perm: 0o755, ...owner }) as MemDir;
  for (let i = 0; i < n; i++) (small.create({ name: `s${i}`, dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from(String(i)));
  return small;
}

/** A remote over `mem`, a relay to it with `cache`, and two clients of the relay (separate connections). */
async function setup(mem: MemDir, cache: RemoteTreeOptions['cache']): Promise<{ inner: NineServer; rt: RemoteTree; a: Client; b: Client }> {
  const inner = await serve(mem);
  const rt = await relay({ port: inner.port, ...(cache ? { cache } : {}) });
  const outer = await serve(rt.root);
  return { inner: inner.server, rt, a: await client(outer.port), b: await client(outer.port) };
}

async function errnoOf(p: Promise<unknown>, what: string): Promise<number | undefined> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, RemoteError, `${what}: ${String(err)}`);
    return (err as RemoteError).errno;
  }
  assert.unreachable(`${what} should have failed`);
  return undefined;
}

/** Remote requests by type since `from` (a snapshot of the same counters). */
function counts(s: NineServer): Record<string, number> {
  return Object.fromEntries(s.stats.byType().map((t) => [t.type, t.requests]));
}
function since(s: NineServer, from: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts(s))) if (v - (from[k] ?? 0) > 0) out[k] = v - (from[k] ?? 0);
  return out;
}
/** Clunks sent without waiting reach the remote a moment later. */
const settle = (): Promise<void> => sleep(30);

/** Changes through client `a` of a relay with a 60 s cache, each checked through client `b`; the remote holds f (5 bytes) and d/g. */
async function changesThroughRelay(a: Client, b: Client, links: boolean): Promise<void> {
  // Fill the cache through b, change through a, look through b.
  assert.is((await b.statPath('f')).size, 5n);
  assert.is((await b.statPath('d')).mode & 0o777, 0o755);
  await a.writeFile('f', 'longer content', { create: false, truncate: false });
  assert.is((await b.statPath('f')).size, 14n, 'write');
  await a.writeFile('f', 'x', { create: false, truncate: true });
  assert.is((await b.statPath('f')).size, 1n, 'truncating open + write');
  const f = await a.walkPath('f');
  await a.rpc({ type: 'Tsetattr', fid: f, valid: 1, mode: 0o600, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n });
  assert.is((await b.statPath('f')).mode & 0o777, 0o600, 'chmod');
  await a.rpc({ type: 'Tsetattr', fid: f, valid: 8, mode: 0, uid: 0, gid: 0, size: 3n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n });
  assert.is((await b.statPath('f')).size, 3n, 'truncate by setattr');
  const d = await a.walkPath('d');
  if (links) {
    // A hard link changes the file's link count, cached once for both names (by qid.path).
    const fb = await b.walkPath('f');
    assert.is((await b.getattr(fb)).nlink, 1n);
    await a.rpc({ type: 'Tlink', dfid: d, fid: f, name: 'f2' });
    assert.is((await b.getattr(fb)).nlink, 2n, 'link');
    await a.writeFile('d/f2', 'through the other name', { create: false });
    assert.is((await b.statPath('f')).size, 22n, 'a write through one name shows under the other');
    await a.removePath('d/f2');
    assert.is((await b.getattr(fb)).nlink, 1n, 'unlink of the other name');
    await b.clunk(fb);
    await a.rpc({ type: 'Tsymlink', fid: d, name: 'ln', symtgt: 'new', gid: 0 });
    const ln = await b.walkPath('d/ln');
    assert.is((await b.rpc({ type: 'Treadlink', fid: ln })).target, 'new', 'symlink');
    await b.clunk(ln);
    await a.removePath('d/ln');
  }
  await a.clunk(f);
  // Names: create, mkdir, rename, unlink.
  await a.writeFile('d/new', 'n');
  assert.is((await b.statPath('d/new')).size, 1n, 'create');
  await a.mkdir('d/sub');
  assert.ok((await b.statPath('d/sub')).isDir, 'mkdir');
  await a.rpc({ type: 'Trenameat', olddirfid: d, oldname: 'new', newdirfid: d, newname: 'renamed' });
  assert.is(await errnoOf(b.statPath('d/new'), 'stat of the old name'), ENOENT, 'rename: old name');
  assert.is((await b.statPath('d/renamed')).size, 1n, 'rename: new name');
  await a.rpc({ type: 'Trenameat', olddirfid: d, oldname: 'sub', newdirfid: a.root!, newname: 'moved' });
  assert.ok((await b.statPath('moved')).isDir, 'rename of a directory');
  await a.writeFile('moved/inside', 'in the moved directory');
  assert.is((await b.statPath('moved/inside')).size, 22n, 'create in a moved directory');
  await a.removePath('moved/inside');
  await a.removePath('moved');
  await a.removePath('d/renamed');
  assert.is(await errnoOf(b.statPath('d/renamed'), 'stat of a removed file'), ENOENT, 'unlink');
  await a.clunk(d);
  assert.equal((await b.ls('d')).map((e) => e.name).sort(), ['g']);
  assert.equal((await b.ls('/')).map((e) => e.name).sort(), ['d', 'f']);
}

test('cache on (60 s), our server as the remote: every change made through the relay is visible at once, from any connection', async () => {
  const { a, b } = await setup(sample(), { attrMs: 60_000 });
  await changesThroughRelay(a, b, false);
  assert.equal(faults, []);
});

test('cache on (60 s), diod as the remote: the same, with hard links and symlinks', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chs-remote-cache-'));
  later(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'f'), 'hello');
  await mkdir(join(dir, 'd'), { mode: 0o755 });
  await chmod(join(dir, 'd'), 0o755);
  await writeFile(join(dir, 'd', 'g'), 'g\n');
  let diod: DiodServer | undefined;
  later(async () => diod?.stop());
  diod = await startDiod(dir);
  const rt = await relay({ port: diod.port, aname: dir, cache: { attrMs: 60_000 } });
  const outer = await serve(rt.root);
  await changesThroughRelay(await client(outer.port), await client(outer.port), true);
  assert.equal(faults, []);
});

test('diod as the remote: no getattr is sent before its walk\'s Rwalk (diod runs requests on threads), and 200 stats stay right', async () => {
  // 9P binds a walk's new fid when Rwalk is sent; diod handles a connection's requests on worker
  // threads, so a getattr sent along with the walk could find the fid half made: diod 1.0.24 then
  // answered ENOENT for files that exist, and crashed. Pipelining is for Cheshire remotes only.
  const dir = await mkdtemp(join(tmpdir(), 'chs-remote-pipe-'));
  later(() => rm(dir, { recursive: true, force: true }));
  for (let i = 0; i < 200; i++) await writeFile(join(dir, `f${i}`), `${i}`);
  let diod: DiodServer | undefined;
  later(async () => diod?.stop());
  diod = await startDiod(dir);
  const rt = await relay({ port: diod.port, aname: dir, cache: { attrMs: 50 } });
  const outer = await serve(rt.root);
  const cl = await client(outer.port);
  for (let pass = 0; pass < 3; pass++) {
    for (let i = 0; i < 200; i += 16) {
      const got = await Promise.all(Array.from({ length: Math.min(16, 200 - i) }, (_, k) => cl.statPath(`f${i + k}`)));
      got.forEach((e, k) => assert.is(e.size, BigInt(String(i + k).length)));
    }
    await sleep(60); // past attrMs: the next pass asks again
  }
  assert.equal(cacheOf(rt.current!, rt.cache).pipelineCounts, { ok: 0, failed: 0 }, 'nothing pipelined');
  assert.equal(faults, []);
});

test('cache on (attrMs 1500): a change made directly on the remote is seen after the expiry, not before', async () => {
  const mem = sample();
  const { a } = await setup(mem, { attrMs: 1500 });
  const t0 = Date.now();
  assert.is((await a.statPath('f')).size, 5n);
  assert.is((await a.statPath('d/g')).size, 2n);
  const old = await a.walkPath('d/g');
  // Behind the relay's back: f grows, d/g is replaced by another file, d/h appears.
  (mem.children.get('f') as MemFile).writeAt(5, Buffer.from(' world'));
  const d = mem.children.get('d') as MemDir;
  d.unlink('g');
  (d.create({ name: 'g', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('replaced'));
  (d.create({ name: 'h', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('h'));
  // Within attrMs: the cached answers (this is the documented staleness)...
  assert.is((await a.statPath('f')).size, 5n, 'cached size');
  assert.is((await a.getattr(old)).size, 2n, 'cached attributes of the replaced file');
  // ...but a name that was never looked up is asked for (no negative caching).
  assert.is((await a.statPath('d/h')).size, 1n, 'a new name is seen at once');
  assert.ok(Date.now() - t0 < 1500, `the checks above ran within attrMs (took ${Date.now() - t0} ms)`);
  await sleep(1600 - (Date.now() - t0));
  assert.is((await a.statPath('f')).size, 11n, 'after the expiry: the new size');
  assert.is(await errnoOf(a.getattr(old), 'getattr of the replaced file'), ESTALE, 'after the expiry: the old file is stale');
  assert.is((await a.statPath('d/g')).size, 8n, 'after the expiry: the new file under the name');
  await a.clunk(old);
  assert.equal(faults, []);
});

test('cache off (attrMs 0): a change made directly on the remote is seen at once', async () => {
  const mem = sample();
  const { a } = await setup(mem, { attrMs: 0 });
  assert.is((await a.statPath('f')).size, 5n);
  const old = await a.walkPath('d/g');
  assert.is((await a.getattr(old)).size, 2n);
  (mem.children.get('f') as MemFile).writeAt(5, Buffer.from(' world'));
  assert.is((await a.statPath('f')).size, 11n, 'size');
  (mem.children.get('f') as MemFile).setattr({ mode: 0o640 });
  assert.is((await a.statPath('f')).mode & 0o777, 0o640, 'mode');
  const d = mem.children.get('d') as MemDir;
  d.unlink('g');
  assert.is(await errnoOf(a.statPath('d/g'), 'stat of a name removed on the remote'), ENOENT, 'removed');
  (d.create({ name: 'g', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('replaced'));
  assert.is(await errnoOf(a.getattr(old), 'getattr of the replaced file'), ESTALE, 'the old node is stale at once');
  assert.is((await a.statPath('d/g')).size, 8n, 'the new file under the name');
  await a.clunk(old);
  assert.equal(faults, []);
});

test('remote requests per operation: lookups pipeline Twalk and Tgetattr from the directory\'s kept fid; a cached stat asks nothing', async () => {
  const mem = sample();
  smallDir(mem, 20);
  const { inner, a } = await setup(mem, { attrMs: 60_000, pipeline: true });
  await a.statPath('small/s0'); // small's fid is kept from here on
  await settle();
  let from = counts(inner);
  for (let i = 1; i < 11; i++) await a.statPath(`small/s${i}`);
  await settle();
  assert.equal(since(inner, from), { Twalk: 10, Tgetattr: 10 }, 'ten cold stats: one walk (of one name) and one getattr each');
  from = counts(inner);
  for (let i = 1; i < 11; i++) await a.statPath(`small/s${i}`);
  await settle();
  assert.equal(since(inner, from), {}, 'ten cached stats: nothing');
  from = counts(inner);
  assert.is((await a.readFile('small/s15')).toString(), '15');
  await settle();
  // walk+getattr for the lookup, the kept fid opened for the handle, reads until 0 bytes, clunk.
  assert.equal(since(inner, from), { Twalk: 1, Tgetattr: 1, Tlopen: 1, Tread: 2, Tclunk: 1 }, 'readFile');
  // With the cache off every name is walked again (from its directory's kept fid, one name at a
  // time) and the attributes asked for; the nodes keep the fids they had, so the new ones go.
  const off = await setup(mem, { attrMs: 0 });
  await off.a.statPath('small/s1');
  await settle();
  from = counts(off.inner);
  await off.a.statPath('small/s1');
  await settle();
  assert.equal(since(off.inner, from), { Twalk: 2, Tgetattr: 1, Tclunk: 2 }, 'cache off: small/s1 is two one-name walks and a getattr');
  assert.equal(faults, []);
});

test('expired names are confirmed by their directory\'s unchanged attributes: one getattr per file, no walks; a change there walks again', async () => {
  const mem = sample();
  const small = smallDir(mem, 20);
  const { inner, a } = await setup(mem, { attrMs: 300, pipeline: true });
  const statAll = async (): Promise<bigint[]> => Promise.all(Array.from({ length: 20 }, async (_, i) => (await a.statPath(`small/s${i}`)).size));
  await statAll();
  await sleep(350);
  await settle();
  let from = counts(inner);
  await statAll();
  await settle();
  // small was walked (with its getattr) before root's attributes were known: root's getattr,
  // one walk of small shared by the 20 lookups (its new fid let go: small's is kept), then the
  // files confirmed by small's stamp, one getattr each.
  assert.equal(since(inner, from), { Tgetattr: 22, Twalk: 1, Tclunk: 1 }, 'first expiry: small walked once, the files not at all');
  await sleep(350);
  await settle();
  from = counts(inner);
  assert.equal(await statAll(), Array.from({ length: 20 }, (_, i) => BigInt(String(i).length)));
  await settle();
  // small's name by root's stamp, the files' by small's: root's and small's getattrs, one per file.
  assert.equal(since(inner, from), { Tgetattr: 22 }, 'next expiry: the directories\' getattrs and one per file, no walk');
  // Behind the relay's back: s3 replaced, s4 removed, s5 grown. small's mtime changes with the first two.
  await sleep(350);
  small.unlink('s3');
  (small.create({ name: 's3', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('replaced'));
  small.unlink('s4');
  (small.children.get('s5') as MemFile).writeAt(1, Buffer.from('grown'));
  from = counts(inner);
  assert.is((await a.statPath('small/s3')).size, 8n, 'the new s3 (its name walked again: small changed)');
  assert.is(await errnoOf(a.statPath('small/s4'), 'stat of s4, removed there'), ENOENT, 'the removed name is gone');
  assert.is((await a.statPath('small/s5')).size, 6n, 'the grown s5');
  await settle();
  assert.ok((since(inner, from).Twalk ?? 0) >= 3, `the changed directory's names are walked again: ${JSON.stringify(since(inner, from))}`);
  assert.equal(faults, []);
});

test('diod as the remote: expired names confirmed by the directory\'s times (diod has no qid.version), and changes made there seen after the expiry', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chs-remote-stamp-'));
  later(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'd'));
  for (let i = 0; i < 10; i++) await writeFile(join(dir, 'd', `g${i}`), `${i}`);
  let diod: DiodServer | undefined;
  later(async () => diod?.stop());
  diod = await startDiod(dir);
  const rt = await relay({ port: diod.port, aname: dir, cache: { attrMs: 200 } });
  const cl = await client((await serve(rt.root)).port);
  const statAll = async (): Promise<bigint[]> => Promise.all(Array.from({ length: 10 }, async (_, i) => (await cl.statPath(`d/g${i}`)).size));
  const cache = () => cacheOf(rt.current!, rt.cache);
  for (let pass = 0; pass < 3; pass++) {
    assert.equal(await statAll(), Array.from({ length: 10 }, () => 1n), `pass ${pass}`);
    await sleep(250);
  }
  assert.ok(cache().confirmedByStamp >= 10, `the last pass confirmed the names by d's stamp (${cache().confirmedByStamp})`);
  // Behind the relay's back: g3 replaced by another file, g4 renamed to h4, g5 appended to.
  await rm(join(dir, 'd', 'g3'));
  await writeFile(join(dir, 'd', 'g3'), 'replaced');
  await rename(join(dir, 'd', 'g4'), join(dir, 'd', 'h4'));
  await appendFile(join(dir, 'd', 'g5'), 'grown');
  await sleep(250);
  assert.is((await cl.statPath('d/g3')).size, 8n, 'the new g3');
  assert.is(await errnoOf(cl.statPath('d/g4'), 'stat of g4, renamed there'), ENOENT, 'g4 is gone');
  assert.is((await cl.statPath('d/h4')).size, 1n, 'h4 is there');
  assert.is((await cl.statPath('d/g5')).size, 6n, 'g5 grew');
  assert.is((await cl.readFile('d/g3')).toString(), 'replaced', 'and reads the new g3');
  assert.equal(faults, []);
});

test('ls -l: names a listing found are stat\'ed with one walk each, its getattr sent along (one round trip)', async () => {
  const mem = sample();
  smallDir(mem, 20);
  const { inner, rt, a } = await setup(mem, { attrMs: 60_000, pipeline: true });
  await a.statPath('small');
  await settle();
  const before = cacheOf(rt.current!, rt.cache).pipelineCounts;
  const from = counts(inner);
  const entries = await a.ls('small', { attrs: true });
  await settle();
  assert.is(entries.length, 20);
  assert.equal(entries.map((e) => e.size).sort(), Array.from({ length: 20 }, (_, i) => BigInt(String(i).length)).sort());
  const sent = since(inner, from);
  assert.is(sent.Twalk, 21, `the listing's own fid (a clone of small's), then one walk per listed name: ${JSON.stringify(sent)}`);
  assert.is(sent.Tgetattr, 20, `one getattr per listed name: ${JSON.stringify(sent)}`);
  const after = cacheOf(rt.current!, rt.cache).pipelineCounts;
  assert.is(after.ok - before.ok, 20, 'each getattr went out with its walk');
  assert.equal(faults, []);
});

test('a relay of a relay: the pipelined getattr may reach the remote before its walk is done, and the answers stay right', async () => {
  // The middle relay answers a walk asynchronously (it asks its own remote), so the outer relay's
  // pipelined Tgetattr of the new fid can find it unbound (EBADF): the getattr is asked again.
  const mem = sample();
  const inner = await serve(mem);
  const rt1 = await relay({ port: inner.port, cache: { attrMs: 0 } });
  const middle = await serve(rt1.root);
  const rt2 = await relay({ port: middle.port, cache: { pipeline: true } });
  const outer = await serve(rt2.root);
  const cl = await client(outer.port);
  const pipelined = () => cacheOf(rt2.current!, rt2.cache).pipelineCounts;
  let after: { ok: number; failed: number } | undefined;
  for (let round = 0; round < 3; round++) {
    const got = await Promise.all([cl.statPath('f'), cl.statPath('d/g'), cl.statPath('d')]);
    assert.equal(got.map((e) => [e.name, e.size, e.isDir]), [['f', 5n, false], ['g', 2n, false], ['d', 0n, true]]);
    if (after) assert.equal(pipelined(), after, 'no getattr pipelined after the first refusal');
    else if (pipelined().failed > 0) after = pipelined();
    await sleep(1100); // past rt2's default attrMs: ask again
  }
  assert.ok(after, `the middle relay refused a pipelined getattr (${JSON.stringify(pipelined())})`);
  assert.equal(faults, []);
});

test('reconnect: kept fids and cached attributes die with the connection; the new one walks afresh', async () => {
  const first = sample();
  const inner1 = new NineServer({ attach: () => first });
  const { port } = await inner1.listen(0, '127.0.0.1');
  later(() => inner1.close());
  const rt = await relay({ port, reconnect: { minMs: 20, maxMs: 200 }, cache: { attrMs: 60_000 } });
  const outer = await serve(rt.root);
  const cl = await client(outer.port);
  assert.is((await cl.statPath('d/g')).size, 2n);
  assert.is((await cl.statPath('f')).size, 5n);
  await within(inner1.close(), 3000, 'the first remote to close');
  await within((async () => { while (rt.state === 'connected') await sleep(10); })(), 3000, 'the relay to notice');

  // The same port, another tree: same names, other sizes and qids. Walked afresh (the old
  // connection's fid numbers would name nothing, or other files, on the new one).
  const second = memfs();
  (second.create({ name: 'pad', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('p'));
  (second.create({ name: 'f', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('second tree'));
  const d2 = second.create({ name: 'd', dir: true, perm: 0o700, ...owner }) as MemDir;
  (d2.create({ name: 'g', dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from('g of the second tree'));
  const inner2 = await serve(second, {}, port);
  await rt.waitConnected(5000);
  assert.is((await cl.statPath('d/g')).size, 20n, 'd/g of the new remote, not the cached one');
  assert.is((await cl.statPath('d')).mode & 0o777, 0o700);
  assert.is((await cl.readFile('f')).toString(), 'second tree');
  await settle();
  const asked = counts(inner2.server);
  assert.ok((asked.Twalk ?? 0) >= 2, `the new remote was walked: ${JSON.stringify(asked)}`);
  assert.equal(inner2.server.stats.byType().filter((t) => t.errors > 0), [], 'no request of the relay failed on the new remote (no stale fid numbers)');
  assert.is(rt.status().connections, 2);
  assert.equal(faults, []);
});

test('kept fids are bounded: with cache.fids 4 the remote holds a handful of fids whatever was looked up', async () => {
  const mem = memfs();
  for (let i = 0; i < 40; i++) (mem.create({ name: `f${i}`, dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from(String(i)));
  // The remote refuses a 9th fid (EMFILE): 4 kept + root + requests in flight must fit.
  const { a } = await setup(mem, { attrMs: 0, fids: 4 });
  const inner = await serve(mem, { maxFids: 8 });
  const rt = await relay({ port: inner.port, cache: { fids: 4, attrMs: 0 } });
  const outer = await serve(rt.root);
  const cl = await client(outer.port);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 40; i += 2) {
      const got = await Promise.all([cl.statPath(`f${i}`), cl.statPath(`f${i + 1}`)]);
      assert.equal(got.map((e) => e.size), [BigInt(String(i).length), BigInt(String(i + 1).length)]);
    }
  }
  assert.is((await a.readFile('f7')).toString(), '7');
  assert.equal(inner.server.stats.byType().filter((t) => t.errors > 0), [], 'the remote never ran out of fids');
  assert.equal(faults, []);
});

for (const pipeline of [true, false]) test(`a stat walk over more names than cache.fids keeps the first ones from pass to pass (no LRU thrash), within the bound (pipeline ${pipeline})`, async () => {
  const mem = memfs();
  smallDir(mem, 30);
  // 10 kept + the root + one walk in flight: the remote refuses a 13th fid.
  const inner = await serve(mem, { maxFids: 12 });
  const rt = await relay({ port: inner.port, cache: { fids: 10, attrMs: 300, pipeline } });
  const cl = await client((await serve(rt.root)).port);
  const pass = async (): Promise<void> => {
    for (let i = 0; i < 30; i++) assert.is((await cl.statPath(`small/s${i}`)).size, BigInt(String(i).length));
  };
  await pass();
  await sleep(350);
  await pass();
  await sleep(350);
  await settle();
  const cache = cacheOf(rt.current!, rt.cache);
  const confirmed = cache.confirmedByStamp;
  const from = counts(inner.server);
  await pass();
  await settle();
  // small's fid and those of s0..s8 stayed kept (each used within attrMs when the next asked for
  // room): small and those 9 names confirmed by their directory's stamp; s9..s29 walked again,
  // once each (without pipelining, a fid that is not kept is asked for its attributes before it goes).
  assert.is(cache.confirmedByStamp - confirmed, 10, 'names confirmed without a walk');
  assert.is(since(inner.server, from).Twalk, 21, `walks: ${JSON.stringify(since(inner.server, from))}`);
  assert.ok(cache.keptCount <= 10, `kept ${cache.keptCount}`);
  assert.equal(inner.server.stats.byType().filter((t) => t.errors > 0), [], 'the remote never ran out of fids');
  assert.equal(faults, []);
});

test.after(async () => { await cleanup(); });
test.run();
