// uninstallModule: takes installed versions out of the store, refusing while the node runs them.
import { chsError } from '../errors.ts';
import { entryName, listInstalled, removeEntry, type InstalledModule } from './store.ts';

/**
 * Removes NAME@VERSION (every installed version of NAME when `version` is omitted) from the
 * store. `inUse(dir)` says whether a running instance uses a folder (the host passes it); if any
 * chosen version is in use, nothing is removed (CHS_ERR_INSTALL_IN_USE). Returns what was removed.
 */
export async function uninstallModule(storeDir: string, name: string, version: string | undefined, inUse: (dir: string) => boolean): Promise<InstalledModule[]> {
  const installed = await listInstalled(storeDir);
  const chosen = installed.filter((m) => m.name === name && (version === undefined || m.version === version));
  if (!chosen.length) {
    const have = installed.filter((m) => m.name === name).map((m) => m.version);
    throw chsError('CHS_ERR_MODULE_NOT_FOUND', `${version ? entryName(name, version) : name} is not installed in ${storeDir}${have.length ? ` (installed: ${have.join(', ')})` : ''}`);
  }
  const busy = chosen.filter((m) => inUse(m.dir));
  if (busy.length) {
    throw chsError('CHS_ERR_INSTALL_IN_USE', `${busy.map((m) => entryName(m.name, m.version)).join(', ')} is in use by a running instance (${busy.map((m) => m.dir).join(', ')}); stop it first, nothing was removed`);
  }
  for (const m of chosen) await removeEntry(storeDir, m.dir);
  return chosen;
}
