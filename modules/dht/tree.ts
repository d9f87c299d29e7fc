// The tree a DHT module mounts (/dht, /mainline-dht): status, nodes, stats, exports, ctl.
import { ctl, dir, file, type SynDir } from 'cheshire/sdk';
import { USAGE, runDhtCommand } from './commands.ts';
import type { DhtService } from './types.ts';

export interface TreeSources {
  svc: DhtService;
  status: () => Record<string, unknown>;
  save: () => Promise<string>;
}

const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';

function statusText(s: Record<string, unknown>): string {
  return Object.entries(s).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') || '-' : String(v)}\n`).join('');
}

export function dhtTree(name: string, src: TreeSources): SynDir {
  return dir(name, [
    file('status', { read: () => statusText(src.status()) }),
    file('nodes', { read: () => src.svc.nodes().map((n) => `${n.id} ${n.host}:${n.port}\n`).join('') }),
    file('stats', { read: () => json(src.svc.stats()) }),
    file('exports', { read: () => src.svc.exports().map((e) => `${e.path} ${e.infohash} seq=${e.seq} announced=${e.announcedTo} stored=${e.storedOn}\n`).join('') }),
    ctl('ctl', (line) => runDhtCommand(src.svc, src.save, line), { read: () => `commands: ${USAGE}\n` }),
  ]);
}
