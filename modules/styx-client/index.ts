// styx-client: imports remote 9P trees (other Cheshire nodes' 6666, diod, any 9P server) and
// grafts them at /net/NAME: named in config, or found through the DHT by path (a dht module,
// when one runs, is a dynamic dependency). Connections are pipelined and reused; when a remote goes away its
// graft shows as disconnected in /net/status and reconnects with backoff. A remote whose key is
// known (the signed DHT record, or `publicKey` in an import) is reached over TLS 1.3 and must
// prove that key; plaintext goes only to loopback, or where an import says `plaintext: true`.
import type { ModuleContext, RemoteTreeOptions } from 'cheshire/sdk';
import { NetDir } from './net-dir.ts';
import { checkImports } from './tls.ts';
import { dhtResolver, seedResolver, staticResolver, type ExportResolver, type ImportConfig } from './resolver.ts';

interface Config {
  mountAt: string;
  /** Path prefix names under /net are looked up at in the DHT ("" turns discovery off). */
  discover: string;
  imports: ImportConfig[];
  /** /net/NAME also finds the node NAME in the seed's directory (through seed-client). */
  seedNodes: boolean;
  reconnect: { minMs: number; maxMs: number };
  /** Kept fids and the attribute cache of every graft (docs/exports.md; default attrMs 1000, fids 1024; pipeline: for grafts found through the seed or the DHT, which are Cheshire nodes, not for configured imports). */
  cache?: RemoteTreeOptions['cache'];
}

export async function start(ctx: ModuleContext<Config>) {
  checkImports(ctx.config.imports);
  const imports = staticResolver(ctx.config.imports);
  const name = ctx.config.mountAt.split('/').filter(Boolean).at(-1) ?? 'net';
  const resolvers: ExportResolver[] = [imports];
  if (ctx.config.seedNodes) {
    const nodes = seedResolver(ctx.deps.seedClient);
    ctx.onStop(() => nodes.close());
    resolvers.push(nodes);
  }
  if (ctx.config.discover) resolvers.push(dhtResolver(ctx.deps.dht, ctx.config.discover));
  const net = new NetDir(name, resolvers, { reconnect: ctx.config.reconnect, cache: ctx.config.cache, log: ctx.log, credentials: () => ctx.host.identity.tls() });
  ctx.onStop(() => net.close());
  for (const n of imports.names()) await net.graft(n);
  ctx.mount(ctx.config.mountAt, net);
  return { imports: () => net.status() };
}
