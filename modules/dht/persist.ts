// The routing table across restarts: the node id and its known contacts are written to the
// module's state directory (atomically) and put back in the table at the next start.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from 'cheshire/sdk';
import type { DhtNode, NodeInfo } from './node.ts';

export interface SavedTable {
  version: 1;
  id: string;
  nodes: NodeInfo[];
  savedAt: number;
}

export const tableFile = (stateDir: string): string => join(stateDir, 'dht-table.json');

const HEX40 = /^[0-9a-f]{40}$/;

/** The saved table, or null when there is none or it is unreadable (a fresh start). */
export async function loadTable(stateDir: string): Promise<SavedTable | null> {
  try {
    const data = JSON.parse(await readFile(tableFile(stateDir), 'utf8')) as Partial<SavedTable>;
    if (data.version !== 1 || typeof data.id !== 'string' || !HEX40.test(data.id) || !Array.isArray(data.nodes)) return null;
    const nodes = data.nodes.filter((n): n is NodeInfo => !!n && typeof n.host === 'string' && Number.isInteger(n.port) &&
      n.port > 0 && n.port < 65536 && typeof n.id === 'string' && HEX40.test(n.id));
    return { version: 1, id: data.id, nodes, savedAt: Number(data.savedAt) || 0 };
  } catch {
    return null;
  }
}

export async function saveTable(stateDir: string, node: DhtNode): Promise<SavedTable> {
  const snap = node.snapshot();
  const table: SavedTable = { version: 1, id: snap.id, nodes: snap.nodes, savedAt: Date.now() };
  await writeFileAtomic(tableFile(stateDir), JSON.stringify(table, null, 1) + '\n');
  return table;
}
