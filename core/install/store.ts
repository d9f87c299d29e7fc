// The node's module store: one folder per installed version, `<store>/NAME@VERSION/`, each an
// ordinary module folder (package.json, code, node_modules) plus its install record
// `.cheshire-install.json`. Work happens in `<store>/.tmp-PID-XXXX` folders, which discovery
// skips (dot names) and which are renamed into place only when complete, so the store never
// shows half an install; a temp folder whose process died is swept by the next install.
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { chsError } from '../errors.ts';
import { pidAlive } from '../../base/pid.ts';

/** The store's folder name under the node's stateDir: `<stateDir>/modules-store`. */
export const MODULE_STORE_DIRNAME = 'modules-store';
export const moduleStoreDir = (stateDir: string): string => join(stateDir, MODULE_STORE_DIRNAME);

/** The install record kept in each installed folder (a dot-file: not part of the module's files). */
export const INSTALL_RECORD = '.cheshire-install.json';

export interface InstalledModule {
  name: string;
  version: string;
  /** The installed folder, `<store>/NAME@VERSION`. */
  dir: string;
  /** npm's `sha512-…` of the tarball; `files-sha256:HEX` (tree-hash.ts) for folders and 9P trees. */
  integrity: string;
  /** What `#sha256=` pins for this source: the tarball's SHA-256, or the file-list hash. */
  sha256: string;
  /** The spec it was installed from (without its pin). */
  source: string;
  /** Where it came from exactly: a tarball URL or path, a folder, or 9p://HOST:PORT/PATH. */
  resolved: string;
  installedAt: string;
}

export const entryName = (name: string, version: string): string => `${name}@${version}`;

const TMP_PREFIX = '.tmp-';

/** A fresh work folder in the store (the store is created if needed); stale ones are swept first. */
export async function makeWorkDir(storeDir: string): Promise<string> {
  await mkdir(storeDir, { recursive: true });
  await sweepStale(storeDir);
  return mkdtemp(join(storeDir, `${TMP_PREFIX}${process.pid}-`));
}

/** Removes work folders left by processes that no longer run (a killed install). */
export async function sweepStale(storeDir: string): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await readdir(storeDir).catch(() => [] as string[])) {
    const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid || pidAlive(pid)) continue;
    await rm(join(storeDir, name), { recursive: true, force: true });
    swept.push(name);
  }
  return swept;
}


export async function writeRecord(dir: string, rec: Omit<InstalledModule, 'dir'>): Promise<void> {
  await writeFile(join(dir, INSTALL_RECORD), JSON.stringify(rec, null, 2) + '\n');
}

/** Installed versions, by name then version; folders without a readable record are left out. */
export async function listInstalled(storeDir: string): Promise<InstalledModule[]> {
  const out: InstalledModule[] = [];
  for (const name of await readdir(storeDir).catch(() => [] as string[])) {
    if (name.startsWith('.') || !name.includes('@')) continue;
    const dir = join(storeDir, name);
    try {
      const rec = JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')) as Omit<InstalledModule, 'dir'>;
      if (typeof rec.name === 'string' && typeof rec.version === 'string' && entryName(rec.name, rec.version) === name) out.push({ ...rec, dir });
    } catch {
      // not an install of ours (or damaged): discovery still sees it if it is a module folder
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name) || semver.compare(a.version, b.version));
}

/**
 * Renames the complete `staged` folder to `<store>/NAME@VERSION`. An existing version is refused
 * (CHS_ERR_INSTALL_EXISTS) unless `force`: then it is moved aside, replaced, and removed.
 */
export async function placeEntry(staged: string, workDir: string, storeDir: string, name: string, version: string, force: boolean): Promise<string> {
  const target = join(storeDir, entryName(name, version));
  const old = join(workDir, 'replaced');
  let movedAside = false;
  if (force) {
    try {
      await rename(target, old);
      movedAside = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  try {
    await rename(staged, target);
  } catch (err) {
    if (movedAside) await rename(old, target).catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw existsError(name, version, target);
    throw err;
  }
  return target;
}

export function existsError(name: string, version: string, dir: string): Error {
  return chsError('CHS_ERR_INSTALL_EXISTS', `${entryName(name, version)} is already installed in ${dir} (install with --force to replace it)`);
}

/** Takes an installed folder out of the store at once (a rename), then deletes it. */
export async function removeEntry(storeDir: string, dir: string): Promise<void> {
  const work = await makeWorkDir(storeDir);
  try {
    await rename(dir, join(work, 'removed'));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
