// Content-addressed blobs: `<root>/objects/ab/cdef…` holds the bytes whose sha256 is `abcdef…`.
// Written with writeFileAtomic (temp file, fsync, rename, directory fsync) and read-only
// (0o444); an object is written once and shared by every version and module that has those
// bytes. Every read re-hashes: a corrupt or missing object is CHS_ERR_HISTORY_CORRUPT, never
// silently handed out.

import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rmdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { chsError } from '../errors.ts';
import { writeFileAtomic } from '../config/atomic.ts';

const HASH = /^[0-9a-f]{64}$/;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function isHash(s: unknown): s is string {
  return typeof s === 'string' && HASH.test(s);
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export class ObjectStore {
  readonly dir: string;

  constructor(root: string) {
    this.dir = join(root, 'objects');
  }

  pathOf(hash: string): string {
    if (!isHash(hash)) throw new TypeError(`not a sha256 hex digest: ${JSON.stringify(hash)}`);
    return join(this.dir, hash.slice(0, 2), hash.slice(2));
  }

  /**
   * Store `data`; returns its hash and whether it was newly written. An existing object of the
   * wrong size (a truncated write from another tool, a damaged disk) is written again.
   * `knownHash` skips hashing again when the caller has just computed it.
   */
  async put(data: Uint8Array, knownHash?: string): Promise<{ hash: string; created: boolean }> {
    const hash = knownHash ?? sha256(data);
    const path = this.pathOf(hash);
    try {
      if ((await stat(path)).size === data.byteLength) return { hash, created: false };
      await unlink(path);
    } catch (err) {
      if (errCode(err) !== 'ENOENT') throw err;
    }
    await mkdir(join(this.dir, hash.slice(0, 2)), { recursive: true });
    await writeFileAtomic(path, data, { mode: 0o444 });
    return { hash, created: true };
  }

  /** The object's bytes, re-hashed; `what` names who needs it in the error. */
  async get(hash: string, what: string): Promise<Buffer> {
    let data: Buffer;
    try {
      data = await readFile(this.pathOf(hash));
    } catch (err) {
      if (errCode(err) === 'ENOENT') throw chsError('CHS_ERR_HISTORY_CORRUPT', `${what}: object ${hash} is missing from ${this.dir}`);
      throw err;
    }
    const actual = sha256(data);
    if (actual !== hash) {
      throw chsError('CHS_ERR_HISTORY_CORRUPT', `${what}: object ${hash} is corrupt (its ${data.byteLength} bytes hash to ${actual}); nothing was restored from it`);
    }
    return data;
  }

  async has(hash: string): Promise<boolean> {
    try {
      await stat(this.pathOf(hash));
      return true;
    } catch (err) {
      if (errCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  /**
   * Remove every object not in `keep` and any temp file a crashed write left behind. Only
   * safe while no put() runs (the store calls it under its write lock).
   */
  async sweep(keep: ReadonlySet<string>): Promise<{ removed: number; removedBytes: number; kept: number }> {
    let removed = 0;
    let removedBytes = 0;
    let kept = 0;
    let fans: string[];
    try {
      fans = await readdir(this.dir);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return { removed, removedBytes, kept };
      throw err;
    }
    for (const fan of fans) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      const sub = join(this.dir, fan);
      const names = await readdir(sub);
      let left = names.length;
      for (const name of names) {
        const hash = fan + name;
        if (isHash(hash) && keep.has(hash)) {
          kept++;
          continue;
        }
        // Not a kept object: unreferenced, a stray temp file, or a foreign name.
        if (!isHash(hash) && !(name.startsWith('.') && name.endsWith('.tmp'))) continue;
        const path = join(sub, name);
        try {
          const size = (await stat(path)).size;
          await unlink(path);
          removed += isHash(hash) ? 1 : 0;
          removedBytes += size;
          left--;
        } catch (err) {
          if (errCode(err) !== 'ENOENT') throw err;
        }
      }
      if (left === 0) await rmdir(sub).catch(() => {});
    }
    return { removed, removedBytes, kept };
  }

  /** Hashes of every object present (for tests and diagnostics). */
  async all(): Promise<string[]> {
    const out: string[] = [];
    let fans: string[];
    try {
      fans = await readdir(this.dir);
    } catch (err) {
      if (errCode(err) === 'ENOENT') return out;
      throw err;
    }
    for (const fan of fans.sort()) {
      if (!/^[0-9a-f]{2}$/.test(fan)) continue;
      for (const name of (await readdir(join(this.dir, fan))).sort()) if (isHash(fan + name)) out.push(fan + name);
    }
    return out;
  }
}
