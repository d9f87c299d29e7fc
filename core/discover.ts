// Finds modules: every folder directly under a module directory that has a package.json.
// Only descriptors are read — no module code runs here (`cheshire ls --all` relies on it).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import semver from 'semver';
import { readDescriptor } from './descriptor.ts';
import { chsError } from './errors.ts';
import type { Descriptor } from './types.ts';

export interface Discovery {
  modules: Descriptor[];
  /** Folders that look like modules but whose descriptor is invalid. */
  invalid: Array<{ dir: string; error: Error }>;
}

export function discoverModules(moduleDirs: string[], base = process.cwd()): Discovery {
  const modules: Descriptor[] = [];
  const invalid: Discovery['invalid'] = [];
  for (const rel of moduleDirs) {
    const root = resolve(base, rel);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = join(root, name);
      if (name.startsWith('.') || name === 'node_modules' || !statSync(dir).isDirectory()) continue;
      if (!existsSync(join(dir, 'package.json'))) continue;
      try {
        modules.push(readDescriptor(dir));
      } catch (error) {
        invalid.push({ dir, error: error as Error });
      }
    }
  }
  return { modules, invalid };
}

/**
 * Picks the descriptor for a role entry: `name` (highest version) or `name@range`.
 * Throws CHS_ERR_MODULE_NOT_FOUND naming what was asked and what exists.
 */
export function pickModule(found: Descriptor[], name: string, range = '*'): Descriptor {
  const candidates = found.filter((d) => d.name === name);
  const match = candidates
    .filter((d) => semver.satisfies(d.version, range))
    .sort((a, b) => semver.rcompare(a.version, b.version))[0];
  if (match) return match;
  const have = candidates.map((d) => d.version).join(', ');
  throw chsError(
    'CHS_ERR_MODULE_NOT_FOUND',
    candidates.length ? `module "${name}" has no version in range "${range}" (found ${have})` : `no module named "${name}" in the module directories`,
  );
}
