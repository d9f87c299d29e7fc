// Writing a stored version back out: into a fresh folder (materialize) or over a module's own
// files (restoreInto). Both read and verify every object first, so a corrupt object fails the
// call before anything on disk is touched.

import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, open, readdir, readFile, readlink, rename, rm, rmdir, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { chsError } from '../errors.ts';
import { fsyncDir, writeFileAtomic } from '../config/atomic.ts';
import type { ObjectStore } from './objects.ts';
import { decodeManifest, pool, readPackageFacts, scanOwned, type OwnedFile, type ScanOptions } from './snapshot.ts';
import type { Manifest } from './types.ts';

/** A version with every file's bytes in memory, each verified against its hash. */
export interface LoadedVersion {
  contentId: string;
  manifest: Manifest;
  bytes: Map<string, Buffer>;
}

export interface RestoreResult {
  /** Files (and links) written or re-moded, removed, and already identical. */
  written: string[];
  removed: string[];
  unchanged: number;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path).slice(0, 200)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}


export async function loadVersion(objects: ObjectStore, contentId: string, what: string): Promise<LoadedVersion> {
  const manifest = decodeManifest(await objects.get(contentId, `${what} manifest`), `${what} manifest ${contentId}`);
  const bytes = new Map<string, Buffer>();
  await pool(Object.entries(manifest.files), 8, async ([rel, e]) => {
    if (e.kind === 'file') bytes.set(rel, await objects.get(e.hash, `${what} ${rel}`));
  });
  return { contentId, manifest, bytes };
}

/** Write `v` as a new folder `target` (which must not exist): built beside it, then renamed. */
export async function materializeVersion(v: LoadedVersion, target: string, what: string): Promise<void> {
  const exists = await lstat(target).then(() => true, (err) => { if (errCode(err) === 'ENOENT') return false; throw err; });
  if (exists) throw chsError('CHS_ERR_HISTORY_RESTORE', `${what}: ${target} already exists; materialize writes a fresh folder only`);
  await mkdir(dirname(target), { recursive: true });
  const tmp = tempBeside(target);
  await mkdir(tmp);
  try {
    const dirs = new Set<string>([tmp]);
    for (const [rel, e] of Object.entries(v.manifest.files)) {
      const path = join(tmp, ...rel.split('/'));
      await mkdir(dirname(path), { recursive: true });
      for (let d = dirname(path); d !== tmp && !dirs.has(d); d = dirname(d)) dirs.add(d);
      if (e.kind === 'link') {
        await symlink(e.target, path);
        continue;
      }
      const fh = await open(path, 'wx', e.mode);
      try {
        await fh.chmod(e.mode); // open()'s mode went through the umask
        await fh.writeFile(v.bytes.get(rel)!);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    for (const d of dirs) await fsyncDir(d);
    try {
      await rename(tmp, target);
    } catch (err) {
      if (errCode(err) === 'ENOTEMPTY' || errCode(err) === 'EEXIST' || errCode(err) === 'ENOTDIR') {
        throw chsError('CHS_ERR_HISTORY_RESTORE', `${what}: ${target} appeared while it was being written`, err);
      }
      throw err;
    }
    await fsyncDir(dirname(target));
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
}

/** Every leaf (file, link, other) under `abs`, as paths relative to `root` — including unowned ones. */
async function leavesUnder(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, ...rel.split('/')), { withFileTypes: true })) {
    const child = `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await leavesUnder(root, child)));
    else out.push(child);
  }
  return out;
}

/** rmdir a tree of (now) empty folders, deepest first. */
async function removeEmptyTree(path: string): Promise<void> {
  for (const e of await readdir(path, { withFileTypes: true })) if (e.isDirectory()) await removeEmptyTree(join(path, e.name));
  await rmdir(path);
}

async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Make `moduleDir`'s owned files byte-identical to `v`: changed files are rewritten atomically
 * (temp + fsync + rename; links by symlink + rename), identical ones left alone (so their mtime
 * does not move), owned files the version lacks removed along with folders that removal left
 * empty. "Owned" is what a snapshot would take now (with `opts`), widened by the version's own
 * watch globs. Unowned files (node_modules, dot-files, unmatched names) are never touched; if
 * one is in the way of a path the version needs, nothing is written and CHS_ERR_HISTORY_RESTORE
 * names it.
 */
export async function restoreVersion(v: LoadedVersion, moduleDir: string, opts: ScanOptions, what: string): Promise<RestoreResult> {
  await mkdir(moduleDir, { recursive: true });
  const wanted = v.manifest.files;
  const revWatch = readPackageFacts(v.bytes.get('package.json')).watch;
  const current = new Map<string, OwnedFile>((await scanOwned(moduleDir, opts, revWatch)).map((f) => [f.rel, f]));
  const extra = new Set([...current.keys()].filter((rel) => !(rel in wanted)));
  const abs = (rel: string) => join(moduleDir, ...rel.split('/'));
  const conflict = (rel: string, why: string) => chsError('CHS_ERR_HISTORY_RESTORE', `${what}: ${abs(rel)} ${why}; nothing was written`);

  // 1. Check every path the version needs before writing anything.
  const blockingDirs = new Set<string>();
  for (const rel of Object.keys(wanted)) {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const st = await lstatOrNull(abs(prefix));
      if (!st || st.isDirectory()) continue;
      if (!current.has(prefix)) throw conflict(prefix, 'is a file the module does not own, in the way of the folder ' + prefix);
    }
    const st = await lstatOrNull(abs(rel));
    if (st?.isDirectory()) {
      const foreign = (await leavesUnder(moduleDir, rel)).find((leaf) => !extra.has(leaf));
      if (foreign !== undefined) throw conflict(rel, `is a folder holding ${foreign}, which the module does not own, in the way of a file`);
      blockingDirs.add(rel);
    }
  }

  const result: RestoreResult = { written: [], removed: [], unchanged: 0 };
  const removeOwned = async (rel: string) => {
    try {
      await unlink(abs(rel));
      result.removed.push(rel);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
    }
    extra.delete(rel);
  };
  /** Remove now-empty folders from `rel`'s parent up to (not including) the module folder. */
  const pruneParents = async (rel: string) => {
    for (let d = dirname(rel); d !== '.' && d !== ''; d = dirname(d)) {
      try {
        await rmdir(abs(d));
      } catch {
        return; // not empty (or already gone): stop
      }
    }
  };

  // 2. Write what differs. Identical files (the usual bulk) are found first, reading in parallel.
  const same = new Set<string>();
  await pool(Object.keys(wanted), 8, async (rel) => {
    const e = wanted[rel]!;
    const cur = current.get(rel);
    if (!cur || blockingDirs.has(rel)) return;
    if (e.kind === 'link') {
      if (cur.kind === 'link' && (await readlink(cur.abs)) === e.target) same.add(rel);
    } else if (cur.kind === 'file' && cur.mode === e.mode && cur.size === e.size && (await readFile(cur.abs)).equals(v.bytes.get(rel)!)) {
      same.add(rel);
    }
  });
  result.unchanged = same.size;
  for (const rel of Object.keys(wanted).sort()) {
    if (same.has(rel)) continue;
    const e = wanted[rel]!;
    const path = abs(rel);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const st = await lstatOrNull(abs(prefix));
      if (st && !st.isDirectory()) await removeOwned(prefix); // owned: checked in step 1
    }
    if (blockingDirs.has(rel)) {
      for (const leaf of await leavesUnder(moduleDir, rel)) await removeOwned(leaf);
      await removeEmptyTree(path); // only folders are left in it; rmdir fails if a file appeared meanwhile
    }
    await mkdir(dirname(path), { recursive: true });
    const st = await lstatOrNull(path);
    if (e.kind === 'link') {
      if (st?.isSymbolicLink() && (await readlink(path)) === e.target) {
        result.unchanged++;
        continue;
      }
      const tmp = tempBeside(path);
      await symlink(e.target, tmp);
      try {
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        throw err;
      }
      result.written.push(rel);
      continue;
    }
    const data = v.bytes.get(rel)!;
    if (st?.isFile() && st.size === data.byteLength && (await readFile(path)).equals(data)) {
      if ((st.mode & 0o777) === e.mode) {
        result.unchanged++;
        continue;
      }
      await chmod(path, e.mode);
      result.written.push(rel);
      continue;
    }
    // writeFileAtomic follows a symlinked target; a link here must be replaced, not written through.
    if (st?.isSymbolicLink()) await unlink(path);
    await writeFileAtomic(path, data, { mode: e.mode });
    result.written.push(rel);
  }

  // 3. Remove the owned files the version lacks, and the folders that leaves empty.
  for (const rel of [...extra].sort().reverse()) {
    await removeOwned(rel);
    await pruneParents(rel);
  }
  return result;
}
