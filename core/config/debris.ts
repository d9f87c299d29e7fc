// Start-up cleaning of what a killed process left behind: the temp files of atomic writes
// (`.<name>.<pid>.<random>.tmp`, see atomic.ts) whose writer is no longer alive, in the state
// directory (a few levels down) and beside cheshire.json. A live writer's temp file is left alone.
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive } from '../../base/pid.ts';

/** `.<base>.<pid>.<12 hex>.tmp` (writeFileAtomic's temp names). */
const TEMP = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

export interface DebrisResult {
  removed: string[];
  errors: string[];
}

/**
 * Removes dead writers' temp files in `dirs` (each searched `depth` levels down; the module
 * store and node_modules are not entered). Never throws; what could not be removed is listed.
 */
export async function sweepDebris(dirs: Array<{ dir: string; depth: number }>): Promise<DebrisResult> {
  const result: DebrisResult = { removed: [], errors: [] };
  for (const { dir, depth } of dirs) await sweep(dir, depth, result);
  return result;
}

async function sweep(dir: string, depth: number, result: DebrisResult): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (depth > 0 && e.name !== 'node_modules' && e.name !== 'modules-store') await sweep(full, depth - 1, result);
      continue;
    }
    const m = TEMP.exec(e.name);
    if (!m || !e.isFile() || pidAlive(Number(m[1]))) continue;
    try {
      await unlink(full);
      result.removed.push(full);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') result.errors.push(`${full}: ${(err as Error).message}`);
    }
  }
}

