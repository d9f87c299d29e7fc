// The node's mount table: the subtrees modules publish into the node's file tree (`/dht`,
// `/export/home`, ...). styx-root serves them; a mount belongs to the instance that made it and
// disappears when that instance stops, so a reloaded module's subtree is replaced, not stale.
import { EventEmitter } from 'node:events';
import { chsError } from './errors.ts';
import type { Mount } from './types.ts';

export type { Mount };

const SEGMENT = /^[^/\0]+$/;

export function normaliseMountPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (!parts.length || parts.some((p) => p === '.' || p === '..' || !SEGMENT.test(p))) {
    throw chsError('CHS_ERR_MOUNT_INVALID', `mount path "${path}" must be absolute, non-root, without "." or ".." segments`);
  }
  return '/' + parts.join('/');
}

export class MountTable extends EventEmitter<{ change: [] }> {
  private readonly mounts = new Map<string, Mount>();
  private generation = 0;

  /** Mounts `tree` at `path` for `owner`; returns the unmount function. */
  mount(owner: string, path: string, tree: unknown): () => void {
    const p = normaliseMountPath(path);
    const existing = this.mounts.get(p);
    if (existing && existing.owner !== owner) {
      throw chsError('CHS_ERR_MOUNT_INVALID', `${owner}: ${p} is already mounted by ${existing.owner}`);
    }
    const m: Mount = { path: p, owner, tree, generation: ++this.generation };
    this.mounts.set(p, m);
    this.emit('change');
    return () => {
      if (this.mounts.get(p) === m) {
        this.mounts.delete(p);
        this.emit('change');
      }
    };
  }

  list(): Mount[] {
    return [...this.mounts.values()].sort((a, b) => a.path.localeCompare(b.path));
  }
}
