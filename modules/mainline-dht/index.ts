// mainline-dht: a node of the BitTorrent mainline DHT (BEP 5 + BEP 44), so torrent clients can
// talk to it. Loopback-only by default (127.0.0.1:6881, no bootstrap): joining the public DHT
// takes both a bootstrap list (e.g. router.bittorrent.com:6881) and "allowPublic": true in its
// config. Same tree (/mainline-dht) and service as dht: any BEP 44 item (mutable or immutable,
// binary salts and values as hex:) is written and read through /mainline-dht/ctl; see docs/dht.md.
import type { ModuleContext } from 'cheshire/sdk';
import { startDhtModule, type DhtModuleConfig } from '../dht/module.ts';
import type { DhtService } from '../dht/types.ts';

export type { DhtService };

export function start(ctx: ModuleContext<DhtModuleConfig>): Promise<DhtService> {
  return startDhtModule(ctx, { name: 'mainline-dht', publicAllowed: true });
}
