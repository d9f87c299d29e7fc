// The canonical hash of a module folder, what `#sha256=` pins for installs from a folder or a 9P
// tree (where no tarball exists whose bytes could be hashed). Defined as: SHA-256 over, for each
// regular file under the folder (no directory, symlink or other entry; no name starting with "."
// and nothing under node_modules, at any depth), in ascending byte order of its path relative to
// the folder with "/" separators (UTF-8), the line `PATH "\0" HEX(SHA-256(CONTENT)) "\n"`. Modes,
// times and empty folders do not count. The same set of files is what /modules/M/source shows.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Left out of the hash, of /modules/M/source and of what an install reads over 9P. */
export const hiddenName = (name: string): boolean => name.startsWith('.') || name === 'node_modules';

/** The relative paths of the files the hash covers, in hash order. */
export async function hashedFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    if (hiddenName(e.name)) continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await hashedFiles(dir, path)));
    else if (e.isFile()) out.push(path);
  }
  return rel ? out : out.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

export async function treeHash(dir: string): Promise<{ sha256: string; files: number }> {
  const files = await hashedFiles(dir);
  const all = createHash('sha256');
  for (const path of files) {
    const one = createHash('sha256');
    for await (const chunk of createReadStream(join(dir, path))) one.update(chunk as Buffer);
    all.update(`${path}\0${one.digest('hex')}\n`);
  }
  return { sha256: all.digest('hex'), files: files.length };
}

/** Deletes what the hash leaves out (dot-files, node_modules) at every depth of `dir`. */
export async function pruneHidden(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (hiddenName(e.name)) await rm(join(dir, e.name), { recursive: true, force: true });
    else if (e.isDirectory()) await pruneHidden(join(dir, e.name));
  }
}
