// styx-provider: one instance per export (`styx-provider#home`), grafted at `path` (default
// /export/NAME) of the node's tree. Kinds: `export` a local directory (read-only unless
// writable; nothing outside its root is reachable), `proxy` another 9P server, `module` another
// module's subtree, `file` a tree from a .ts file that hot-reloads when the file changes.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { DhtService } from '../dht/types.ts';
import { CheshireError, formatAddress, isLoopback, parseHostPort, exportTree, RemoteTree, type ModuleContext, type Dynamic, type RemoteTreeOptions } from 'cheshire/sdk';
import { serveFileTree } from './kinds/file-tree.ts';
import { mirrorModule } from './kinds/mirror.ts';

interface Config {
  path?: string;
  server: 'export' | 'proxy' | 'module' | 'file';
  root?: string;
  writable: boolean;
  address?: string;
  aname?: string;
  version?: '9P2000' | '9P2000.u' | '9P2000.L';
  secret?: string;
  /** `proxy`: the server node's ed25519 key: TLS, and the server must prove it (docs/tls.md). */
  publicKey?: string;
  /** `proxy`: plaintext to a server on another machine (without publicKey). */
  plaintext?: boolean;
  /** `proxy`: kept fids and the attribute cache of the graft (docs/exports.md; default attrMs 1000, fids 1024, pipeline false: set it for a Cheshire server). */
  cache?: RemoteTreeOptions['cache'];
  module?: string;
  file?: string;
  announce: boolean;
}

/** `~` and `~/x` are the user's home; relative paths are relative to the node's directory. */
function localPath(p: string): string {
  if (p === '~' || p.startsWith('~/')) return join(homedir(), p.slice(1));
  return isAbsolute(p) ? p : resolve(p);
}

type Deps = { dht?: Dynamic<DhtService>; styxRoot: Dynamic<{ address(): AddressInfo | undefined }> };

export async function start(ctx: ModuleContext<Config, Deps>) {
  const c = ctx.config;
  const name = ctx.id.includes('#') ? ctx.id.slice(ctx.id.indexOf('#') + 1) : ctx.name;
  const path = c.path ?? `/export/${name}`;
  switch (c.server) {
    case 'export': {
      const root = localPath(c.root!);
      ctx.mount(path, exportTree(root, { writable: c.writable }));
      ctx.log.info(`exporting ${root} at ${path} (${c.writable ? 'read-write' : 'read-only'})`);
      break;
    }
    case 'proxy': {
      const { host, port } = parseHostPort(c.address!);
      if (!c.publicKey && !c.plaintext && host !== 'localhost' && !isLoopback(host)) {
        throw new CheshireError('CHS_ERR_TLS_PLAINTEXT', `${ctx.id}: ${c.address} is on another machine: give its node's "publicKey" (TLS) or set "plaintext": true`);
      }
      const tls = c.publicKey ? { credentials: await ctx.host.identity.tls(), expectKey: c.publicKey.toLowerCase() } : undefined;
      const remote = new RemoteTree({ host, port, version: c.version, aname: c.aname, secret: c.secret, name, ...(tls ? { tls } : {}), ...(c.cache ? { cache: c.cache } : {}) });
      remote.events.on('state', (state, err) => ctx.log.info(`${c.address} ${state}${err && state !== 'connected' ? `: ${err.message}` : ''}`));
      remote.events.on('error', () => { /* reported through 'state' */ });
      ctx.onStop(() => remote.close());
      ctx.mount(path, remote.root);
      break;
    }
    case 'module':
      mirrorModule(ctx, c.module!, path);
      break;
    case 'file':
      await serveFileTree(ctx, localPath(c.file!), path);
      break;
  }
  if (c.announce) announceLater(ctx, path);
  return { path, server: c.server };
}

/**
 * Announces the export through the DHT (when a dht module runs): infohash sha1(path + salt),
 * described by a signed item carrying this node's 9P address; withdrawn when the instance stops.
 * The dht and styx-root are dynamic dependencies, so the announce waits for them to be there.
 */
function announceLater(ctx: ModuleContext<Config>, path: string): void {
  const dht = ctx.deps.dht;
  const root = ctx.deps.styxRoot;
  void (async () => {
    try {
      const [d, r] = await Promise.all([dht!.$ready(30_000), root.$ready(30_000)]);
      const a = r.address();
      if (!a || ctx.signal.aborted) return;
      const done = await d.announceExport(path, { address: formatAddress(a), aname: path });
      ctx.log.info(`announced ${path} (infohash ${done.infohash}) to ${done.announcedTo} node(s), stored on ${done.storedOn}`);
      ctx.onStop(async () => { await d.withdrawExport(path).catch(() => false); });
    } catch (err) {
      if (!ctx.signal.aborted) ctx.log.warn(`${path} not announced: ${(err as Error).message}`);
    }
  })();
}
