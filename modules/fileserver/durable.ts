// Durable writes: data goes to a temp file in the store's tmp/ (same file system), is fsynced,
// renamed over its final name, and the directory is fsynced, so a crash leaves either the old
// state or the new one, never a torn file. Temp names are unique and removed on any failure.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export function tempName(tmpDir: string, tag: string): string {
  return join(tmpDir, `${tag}-${process.pid}-${randomBytes(6).toString('hex')}.part`);
}

/** fsync a directory (so a rename in it is durable). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

/** Writes `data` to `target` atomically and durably through a temp file in `tmpDir`. */
export async function writeDurable(tmpDir: string, target: string, data: Uint8Array | string): Promise<void> {
  const tmp = tempName(tmpDir, 'w');
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dirname(target));
}

/** Renames a complete, already fsynced temp file into place and fsyncs the directory. */
export async function commitRename(tmp: string, target: string): Promise<void> {
  await rename(tmp, target);
  await syncDir(dirname(target));
}
