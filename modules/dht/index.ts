// dht: the cluster's private DHT. Its own UDP port (default 127.0.0.1:6890) and bootstrap list
// (config; default none), a socket that only sends to loopback and the configured addresses,
// the routing table kept across reloads (the node is handed over) and restarts (saved in the
// state directory), /dht/{status,nodes,stats,exports,ctl}, and the export-finding service.
// The machinery is core/dht (loaded once, shared); see docs/dht.md.
import type { ModuleContext } from 'cheshire/sdk';
import { startDhtModule, type DhtModuleConfig } from './module.ts';
import type { DhtService } from './types.ts';

export type { DhtService };

export function start(ctx: ModuleContext<DhtModuleConfig>): Promise<DhtService> {
  return startDhtModule(ctx, { name: 'dht', publicAllowed: false });
}
