// Who owns a stack the watchdog sampled: the instance whose bundle (V8 name `<entry>#<hash>`,
// core/loader.ts) holds the first frame that is module code, and that frame's real file:line
// through the bundle's source map. Runs in the main thread while the inspector holds it paused
// (the worker evaluates the hook below on the top call frame), so it must stay cheap and must not
// throw: a Map/array scan, and a source map parsed on first use per version.
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BundleMap } from '../loader/stacks.ts';
import type { Instance } from '../instance.ts';

/** One frame as the worker read it from Debugger.paused. */
export interface Frame {
  fn: string;
  url: string;
  line: number;
  col: number;
}

/** The owner of a sampled stack. */
export interface Culprit {
  /** Instance id. */
  id: string;
  /** `file:line:col`, source-mapped when the running version is the instance's current one. */
  where: string;
}

export const HOOK = 'cheshire.watchdog.attribute';

const maps = new WeakMap<object, BundleMap>();

function pathOf(url: string): string {
  if (!url.startsWith('file:')) return url;
  try {
    return fileURLToPath(url);
  } catch {
    return url;
  }
}

/** The first frame of `frames` that runs code of one of `instances`, or null. */
export function attribute(frames: Frame[], instances: Iterable<Instance>): Culprit | null {
  const list = [...instances];
  for (const f of frames) {
    const file = pathOf(f.url);
    if (!file) continue;
    for (const inst of list) {
      const entry = join(inst.desc.dir, inst.desc.entry);
      if (file.startsWith(`${entry}#`)) {
        const code = inst.code;
        const at = code && file === `${entry}#${code.loaded.hash}` ? mapOf(code).lookup(f.line, f.col) : null;
        return { id: inst.id, where: at ? `${at.file}:${at.line}:${at.col}` : `${file}:${f.line}:${f.col}` };
      }
      // Natively loaded files of the module's own folder (its node_modules).
      if (file.startsWith(inst.desc.dir + sep)) return { id: inst.id, where: `${file}:${f.line}:${f.col}` };
    }
  }
  return null;
}

function mapOf(code: NonNullable<Instance['code']>): BundleMap {
  let m = maps.get(code);
  if (!m) {
    m = new BundleMap(dirname(join(code.desc.dir, code.desc.entry)), code.loaded.map);
    maps.set(code, m);
  }
  return m;
}

type Source = () => Iterable<Instance>;
const sources = new Set<Source>();

/** Makes `instances` (one host's) visible to the hook the worker calls; returns the removal. */
export function installHook(instances: Source): () => void {
  sources.add(instances);
  (globalThis as Record<symbol, unknown>)[Symbol.for(HOOK)] = hook;
  return () => {
    sources.delete(instances);
    if (!sources.size) delete (globalThis as Record<symbol, unknown>)[Symbol.for(HOOK)];
  };
}

function hook(frames: Frame[]): Culprit | null {
  try {
    for (const s of sources) {
      const c = attribute(frames, s());
      if (c) return c;
    }
  } catch {
    // never let attribution disturb the paused code
  }
  return null;
}
