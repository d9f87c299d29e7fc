// Which files of a module folder make a version, and their manifest.
//
// A module owns: its package.json, every file the bundle read (LoadedCode.files, when the host
// passes them) and every file its descriptor's `watch` globs match (picomatch, dot: false, as
// the host's watcher). Never anything under `node_modules/` or a dot-folder, nor dot-files, nor
// anything outside the folder: the walk does not descend into symlinked folders, and a symlink
// that is owned is recorded as a link (its target string), never followed — like git.
//
// The manifest is serialised canonically (entries sorted by path, fixed key order, no spaces)
// and stored as an object; its sha256 is the version's content id, so the same file set (bytes,
// modes, links) has the same id in every module and on every node.

import { lstat, readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import picomatch from 'picomatch';
import { chsError } from '../errors.ts';
import { isHash, sha256, type ObjectStore } from './objects.ts';
import { DEFAULT_WATCH, type HistoryLimits, type Manifest, type ManifestEntry, type Snapshot } from './types.ts';

export interface ScanOptions {
  /** Absolute paths of the bundle's files (LoadedCode.files); those inside the folder are owned. */
  files?: readonly string[];
  /** Watch globs; default: the package.json's `cheshire.watch`, else the descriptor default. */
  watch?: readonly string[];
}

export interface OwnedFile {
  /** `/`-separated path relative to the module folder. */
  rel: string;
  abs: string;
  kind: 'file' | 'link';
  /** lstat size: bytes for a file, target length for a link. */
  size: number;
  /** Permission bits (mode & 0o777). */
  mode: number;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** A path segment the snapshot rules never own. */
export function isExcludedSegment(name: string): boolean {
  return name === 'node_modules' || name.startsWith('.');
}

/** A manifest path: relative, `/`-separated, no empty / `.` / `..` / dot / node_modules segment. */
export function isCleanRel(rel: unknown): rel is string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0')) return false;
  return rel.split('/').every((s) => s !== '' && !isExcludedSegment(s));
}

/** The package.json's `cheshire.watch` and `version`, leniently: a broken file yields defaults. */
export function readPackageFacts(bytes: Uint8Array | undefined): { watch: readonly string[]; version: string } {
  let pkg: { version?: unknown; cheshire?: { watch?: unknown } } | null = null;
  try {
    if (bytes) pkg = JSON.parse(Buffer.from(bytes).toString('utf8').replace(/^\uFEFF/, ''));
  } catch {
    pkg = null;
  }
  const w = pkg?.cheshire?.watch;
  const watch = Array.isArray(w) && w.every((g) => typeof g === 'string') ? (w as string[]) : DEFAULT_WATCH;
  return { watch, version: typeof pkg?.version === 'string' ? pkg.version : '' };
}

async function packageBytes(dir: string): Promise<Buffer | undefined> {
  try {
    return await readFile(join(dir, 'package.json'));
  } catch {
    return undefined;
  }
}

/** `files` (absolute) as paths relative to `dir`; those outside it are dropped. */
async function relativeFiles(dir: string, files: readonly string[]): Promise<Set<string>> {
  const roots = [dir];
  const real = await realpath(dir).catch(() => dir);
  if (real !== dir) roots.push(real);
  const out = new Set<string>();
  for (const f of files) {
    for (const root of roots) {
      const rel = relative(root, f);
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
      out.add(rel.split(sep).join('/'));
      break;
    }
  }
  return out;
}

/** The owned files of `dir` now, sorted by path. `extraWatch` adds globs (restoreInto). */
export async function scanOwned(dir: string, opts: ScanOptions = {}, extraWatch: readonly string[] = []): Promise<OwnedFile[]> {
  const watch = [...(opts.watch ?? readPackageFacts(await packageBytes(dir)).watch), ...extraWatch];
  const match = picomatch(watch.length ? watch : ['__none__'], { dot: false });
  const bundled = await relativeFiles(dir, opts.files ?? []);
  const out: OwnedFile[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch (err) {
      if (rel !== '' && (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR')) return; // vanished meanwhile
      throw err;
    }
    for (const e of entries) {
      if (isExcludedSegment(e.name)) continue;
      const childAbs = join(abs, e.name);
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        await walk(childAbs, childRel);
        continue;
      }
      if (!e.isFile() && !e.isSymbolicLink()) continue; // fifos, sockets, devices
      if (childRel !== 'package.json' && !bundled.has(childRel) && !match(childRel)) continue;
      let st;
      try {
        st = await lstat(childAbs);
      } catch (err) {
        if (errCode(err) === 'ENOENT') continue;
        throw err;
      }
      out.push({ rel: childRel, abs: childAbs, kind: st.isSymbolicLink() ? 'link' : 'file', size: st.size, mode: st.mode & 0o777 });
    }
  };
  await walk(dir, '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

function limitError(dir: string, what: string): Error {
  return chsError('CHS_ERR_HISTORY_LIMIT', `${dir}: ${what}; nothing was recorded (raise the history limits or exclude the file from "watch")`);
}

/** Refuse a scan past the caps before any byte is read or stored. */
export function checkLimits(dir: string, owned: readonly OwnedFile[], limits: HistoryLimits): void {
  if (owned.length > limits.maxFiles) throw limitError(dir, `${owned.length} files exceed maxFiles ${limits.maxFiles}`);
  let total = 0;
  for (const f of owned) {
    if (f.size > limits.maxFileBytes) throw limitError(dir, `${f.rel} is ${f.size} bytes, over maxFileBytes ${limits.maxFileBytes}`);
    total += f.size;
  }
  if (total > limits.maxSnapshotBytes) throw limitError(dir, `its owned files total ${total} bytes, over maxSnapshotBytes ${limits.maxSnapshotBytes}`);
}

/** Canonical bytes of a manifest: sorted paths, fixed key order (manual, since integer-like keys would reorder). */
export function encodeManifest(m: Manifest): Buffer {
  const parts: string[] = [];
  for (const rel of Object.keys(m.files).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const e = m.files[rel]!;
    const value = e.kind === 'file'
      ? JSON.stringify({ kind: 'file', hash: e.hash, mode: e.mode, size: e.size })
      : JSON.stringify({ kind: 'link', target: e.target });
    parts.push(`${JSON.stringify(rel)}:${value}`);
  }
  return Buffer.from(`{"v":1,"files":{${parts.join(',')}}}\n`);
}

/** Parse and check a stored manifest (its object hash was verified by the caller). */
export function decodeManifest(bytes: Uint8Array, what: string): Manifest {
  const bad = (why: string) => chsError('CHS_ERR_HISTORY_CORRUPT', `${what}: not a version manifest (${why})`);
  let raw: { v?: unknown; files?: unknown };
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (typeof raw !== 'object' || raw === null || raw.v !== 1 || typeof raw.files !== 'object' || raw.files === null || Array.isArray(raw.files)) throw bad('no v:1 / files');
  const files: Record<string, ManifestEntry> = {};
  for (const [rel, e] of Object.entries(raw.files as Record<string, Record<string, unknown>>)) {
    if (!isCleanRel(rel)) throw bad(`unsafe path ${JSON.stringify(rel)}`);
    if (e?.kind === 'file' && isHash(e.hash) && Number.isInteger(e.mode) && (e.mode as number) >= 0 && (e.mode as number) <= 0o777 && Number.isSafeInteger(e.size) && (e.size as number) >= 0) {
      files[rel] = { kind: 'file', hash: e.hash, mode: e.mode as number, size: e.size as number };
    } else if (e?.kind === 'link' && typeof e.target === 'string' && e.target !== '' && !e.target.includes('\0')) {
      files[rel] = { kind: 'link', target: e.target };
    } else {
      throw bad(`bad entry for ${JSON.stringify(rel)}`);
    }
  }
  // A file and a folder of the same name cannot both exist.
  for (const rel of Object.keys(files)) {
    for (let i = rel.indexOf('/'); i > 0; i = rel.indexOf('/', i + 1)) {
      if (files[rel.slice(0, i)]) throw bad(`${JSON.stringify(rel.slice(0, i))} is both a file and a folder`);
    }
  }
  return { v: 1, files };
}

/** Run `fn` over `items` with at most `n` at a time. */
export async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Read the owned files of `dir`, store their bytes and the manifest; see VersionStore.snapshot. */
export async function takeSnapshot(objects: ObjectStore, dir: string, opts: ScanOptions, limits: HistoryLimits): Promise<Snapshot> {
  const owned = await scanOwned(dir, opts);
  checkLimits(dir, owned, limits);
  const found = new Map<string, ManifestEntry>();
  const puts = new Map<string, Promise<boolean>>(); // one write per distinct content, also in flight
  let bytes = 0;
  let newObjects = 0;
  let pkg: Buffer | undefined;
  await pool(owned, 8, async (f) => {
    try {
      if (f.kind === 'link') {
        found.set(f.rel, { kind: 'link', target: await readlink(f.abs) });
        return;
      }
      const data = await readFile(f.abs);
      // The file may have grown since the scan.
      if (data.byteLength > limits.maxFileBytes) throw limitError(dir, `${f.rel} is ${data.byteLength} bytes, over maxFileBytes ${limits.maxFileBytes}`);
      bytes += data.byteLength;
      if (bytes > limits.maxSnapshotBytes) throw limitError(dir, `its owned files total over maxSnapshotBytes ${limits.maxSnapshotBytes}`);
      if (f.rel === 'package.json') pkg = data;
      const hash = sha256(data);
      let put = puts.get(hash);
      if (!put) {
        puts.set(hash, (put = objects.put(data, hash).then((r) => r.created)));
        if (await put) newObjects++;
      } else await put;
      found.set(f.rel, { kind: 'file', hash, mode: f.mode, size: data.byteLength });
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err; // deleted since the scan: not part of this version
    }
  });
  const files: Record<string, ManifestEntry> = {};
  for (const f of owned) if (found.has(f.rel)) files[f.rel] = found.get(f.rel)!; // in path order
  const manifest: Manifest = { v: 1, files };
  const m = await objects.put(encodeManifest(manifest));
  if (m.created) newObjects++;
  return { contentId: m.hash, manifest, version: readPackageFacts(pkg).version, files: found.size, bytes, newObjects };
}
