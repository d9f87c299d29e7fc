// fileserver: static files over HTTP (see docs/fileserver.md).
//  - app assets: `assetsDir` read into memory, swapped whole by invalidate();
//  - content store: sha256-named files under `/static/<sha256|version>/<path>`, immutable;
//  - virtual hosts: Host + path key -> store object (config `vhosts`, editable through ctl);
//  - uploads: token-guarded POST streamed to disk with sha256, progress over WebSocket.
// The listener (with its fast lane), the asset set, tokens and progress channels are handed to
// the next version on reload, so a reload refuses no request and re-reads nothing.
import { resolve as resolvePath, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { SeedClient } from '../seed-client/index.ts';
import { serveHttp, ChunkPool, type ModuleContext, type Dynamic } from 'cheshire/sdk';
import { loadAssets, type AssetSet } from './assets.ts';
import { installFastLane } from './fastlane.ts';
import { fastHandler, nodeHandler, RouteCache, upgradeHandler, type HttpStats } from './http.ts';
import { fileserverMetrics } from './metrics.ts';
import { compressible, contentType } from './mime.ts';
import { SHA256_RE, checkName } from './paths.ts';
import { Progress, closeChannels, type Channels } from './progress.ts';
import { Router, vhostTable } from './router.ts';
import { Store, type PutResult } from './store.ts';
import type { FileserverService, IssuedToken } from './service.ts';
import { Tokens, type Token } from './tokens.ts';
import { buildTree } from './tree.ts';
import { fileserverError } from './errors.ts';
import { fileserverGuard, serverOptions } from './limits.ts';

export interface FileserverConfig {
  host: string;
  port: number;
  assetsDir: string;
  assetsPrefix: string;
  assetsCacheControl: string;
  assetsMaxBytes: number;
  storeDir: string;
  memoryMaxFileBytes: number;
  memoryBudgetBytes: number;
  openFilesMax: number;
  streamChunkBytes: number;
  compressMaxBytes: number;
  uploadPath: string;
  uploadMaxBytes: number;
  uploadTokenTtlMs: number;
  uploadSyncBytes: number;
  vhosts: Record<string, Record<string, string>>;
  vhostCacheControl: string;
  mountPath: string;
  headTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxPerAddress: number;
  operatorReserve: number;
}

export type { FileserverService, IssuedToken };

interface Shared { tokens: Map<string, Token>; channels: Channels; stats: HttpStats }
interface AssetHolder { current: AssetSet | undefined; dir: string; cacheControl: string; generation: number }

export async function start(ctx: ModuleContext<FileserverConfig, { seed: Dynamic<SeedClient> }>): Promise<FileserverService> {
  const cfg = ctx.config;
  const storeDir = cfg.storeDir ? resolvePath(cfg.storeDir) : join(ctx.stateDir, 'store');
  const store = new Store({
    dir: storeDir, memoryMaxFileBytes: cfg.memoryMaxFileBytes, memoryBudgetBytes: cfg.memoryBudgetBytes,
    openFilesMax: cfg.openFilesMax, compressMaxBytes: cfg.compressMaxBytes, log: ctx.log,
  });
  const previous = ctx.takeOver<Shared>('shared');
  const shared: Shared = previous ?? {
    tokens: new Map(), channels: new Map(),
    stats: { requests: 0, notModified: 0, uploads: 0, uploadFailures: 0, uploadBytes: 0 },
  };
  ctx.handOver('shared', shared, (s) => closeChannels(s.channels));
  // tmp/ is emptied only on a fresh start: after a reload, the old version's uploads may still run
  await store.init(!previous);
  ctx.onStop(() => store.close());

  const assetsDir = cfg.assetsDir ? resolvePath(cfg.assetsDir) : '';
  let holder = ctx.takeOver<AssetHolder>('assets');
  if (!holder || holder.dir !== assetsDir || holder.cacheControl !== cfg.assetsCacheControl) {
    holder = { current: undefined, dir: assetsDir, cacheControl: cfg.assetsCacheControl, generation: holder?.generation ?? 0 };
    if (assetsDir) {
      try {
        holder.current = await loadAssets(assetsDir, cfg.assetsCacheControl, cfg.assetsMaxBytes, ++holder.generation);
      } catch (err) {
        throw fileserverError('CHS_ERR_FILESERVER_ASSETS', `${ctx.id}: cannot load assets from ${assetsDir}: ${(err as Error).message}`, err);
      }
    }
  }
  const assets = holder;
  ctx.handOver('assets', assets, () => undefined);

  const tokens = new Tokens(shared.tokens);
  const progress = new Progress(shared.channels);
  const vhosts = vhostTable(cfg.vhosts);
  const routes = new RouteCache();
  store.onEvict = () => routes.clear();
  const router = new Router({
    store, assets: () => assets.current, vhosts: () => vhosts,
    assetsPrefix: cfg.assetsPrefix.split('/').filter(Boolean), vhostCacheControl: cfg.vhostCacheControl,
  });
  const stats = shared.stats;
  fileserverMetrics(ctx, stats);
  const upload = { store, tokens, progress, maxBytes: cfg.uploadMaxBytes, syncBytes: cfg.uploadSyncBytes, bodyTimeoutMs: cfg.bodyTimeoutMs, log: ctx.log, stats };

  const chunks = new ChunkPool(cfg.streamChunkBytes);
  ctx.onStop(() => chunks.close());
  const server = await serveHttp(ctx, cfg.host, cfg.port, nodeHandler({ router, stats, upload, uploadPath: cfg.uploadPath, chunks }), 'http', serverOptions(cfg));
  server.requestTimeout = 0; // uploads may take long; idle, head and body-progress deadlines still apply
  const guard = fileserverGuard(ctx, server, cfg); // caps and deadlines (limits.ts)
  const lane = installFastLane(server, fastHandler(router, routes, stats, cfg.uploadPath), guard);
  server.removeAllListeners('upgrade');
  server.on('upgrade', upgradeHandler(cfg.uploadPath, tokens, progress));
  const port = (server.address() as AddressInfo).port;
  const base = `http://${cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host}:${port}`;

  let reloading: Promise<{ generation: number; files: number; bytes: number }> | null = null;
  const invalidate = async () => {
    if (!assetsDir) return { generation: assets.generation, files: 0, bytes: 0 };
    // concurrent calls share one read; a call made during a read waits for the next one
    while (reloading) await reloading.catch(() => undefined);
    reloading = (async () => {
      try {
        const next = await loadAssets(assetsDir, cfg.assetsCacheControl, cfg.assetsMaxBytes, assets.generation + 1);
        assets.generation = next.generation;
        assets.current = next;
        routes.clear();
        ctx.log.info(`assets generation ${next.generation}: ${next.files.size} files, ${next.bytes} bytes`);
        return { generation: next.generation, files: next.files.size, bytes: next.bytes };
      } catch (err) {
        throw fileserverError('CHS_ERR_FILESERVER_ASSETS', `${ctx.id}: cannot reload assets from ${assetsDir}: ${(err as Error).message}`, err);
      } finally {
        reloading = null;
      }
    })();
    return reloading;
  };

  // "app build N published" from the seed (when this node runs a seed-client) re-reads the assets.
  let offBuilds: (() => void) | undefined;
  const followBuilds = (seed: SeedClient | undefined) => {
    offBuilds?.();
    offBuilds = seed?.onEvent((e) => {
      if (e.type !== 'build') return;
      invalidate().then(
        (r) => ctx.log.info(`build ${e.build} published: assets generation ${r.generation}`),
        (err: Error) => ctx.log.error(`build ${e.build} published, assets not reloaded: ${err.message}`),
      );
    });
  };
  followBuilds(ctx.deps.seed.$current);
  ctx.onBind('seed', (svc) => followBuilds(svc));
  ctx.onUnbind('seed', () => followBuilds(undefined));
  ctx.onStop(() => offBuilds?.());

  const editVhosts = async (edit: (t: Record<string, Record<string, string>>) => void) => {
    const current = ctx.host.config(ctx.id);
    const table: Record<string, Record<string, string>> = JSON.parse(JSON.stringify(current.effective.vhosts ?? {}));
    edit(table);
    // a config revision: validated, recorded, applied by restarting this module in place
    await ctx.host.setConfig(ctx.id, { ...current.override, vhosts: table });
  };

  const put = (data: Buffer, name?: string): Promise<PutResult> => {
    const n = name === undefined ? undefined : checkName(name);
    if (name !== undefined && !n) throw fileserverError('CHS_ERR_FILESERVER_NAME', `${ctx.id}: bad name ${JSON.stringify(name)}`);
    return store.putBuffer(data, n ? compressible(contentType(n)) : false);
  };

  const service: FileserverService = {
    url: () => base,
    invalidate,
    issueToken(opts = {}) {
      const t = tokens.issue(opts, { ttlMs: cfg.uploadTokenTtlMs, maxBytes: cfg.uploadMaxBytes });
      return { ...t, uploadUrl: `${base}${cfg.uploadPath}`, progressUrl: `${base.replace(/^http/, 'ws')}${cfg.uploadPath}/progress?token=${t.token}` };
    },
    revokeToken: (t) => tokens.revoke(t),
    put: async (data, name) => put(typeof data === 'string' ? Buffer.from(data) : data, name),
    putFile: async (path, name) => put(await readFile(path), name),
    async publish(version, files) {
      try {
        await store.publish(version, files);
      } catch (err) {
        throw fileserverError('CHS_ERR_FILESERVER_VERSION', `${ctx.id}: ${(err as Error).message}`, err);
      }
      routes.clear();
    },
    async unpublish(version) {
      const r = await store.unpublish(version);
      routes.clear();
      return r;
    },
    versions: () => Object.fromEntries([...store.versions].map(([v, m]) => [v, Object.fromEntries(m)])),
    vhosts: () => Object.fromEntries([...vhosts].map(([h, m]) => [h, Object.fromEntries(m)])),
    async setVhost(host, key, sha) {
      const h = host.toLowerCase();
      if (!/^[a-z0-9.-]+(:[0-9]{1,5})?$/.test(h)) throw fileserverError('CHS_ERR_FILESERVER_VHOST', `${ctx.id}: bad host ${JSON.stringify(host)}`);
      if (!key.startsWith('/')) throw fileserverError('CHS_ERR_FILESERVER_VHOST', `${ctx.id}: key ${JSON.stringify(key)} must start with /`);
      if (!SHA256_RE.test(sha) || !(await store.has(sha))) throw fileserverError('CHS_ERR_FILESERVER_VHOST', `${ctx.id}: the store has no object ${JSON.stringify(sha)}`);
      await editVhosts((t) => { (t[h] ??= {})[key] = sha; });
    },
    async removeVhost(host, key) {
      const h = host.toLowerCase();
      await editVhosts((t) => {
        if (!t[h] || (key !== undefined && t[h][key] === undefined)) throw fileserverError('CHS_ERR_FILESERVER_VHOST', `${ctx.id}: no virtual host ${h}${key ?? ''}`);
        if (key === undefined) delete t[h];
        else {
          delete t[h][key];
          if (Object.keys(t[h]).length === 0) delete t[h];
        }
      });
    },
    assetList: () => [...(assets.current?.files ?? [])].map(([path, e]) => ({ path, sha256: e.sha, size: e.identity.size })),
    stats: () => ({
      ...stats, fastLane: { ...lane }, connections: guard.stats(), routesCached: routes.size, storeDir, store: store.stats(),
      assets: { generation: assets.generation, files: assets.current?.files.size ?? 0, bytes: assets.current?.bytes ?? 0 },
      tokens: tokens.map.size, progressChannels: shared.channels.size,
    }),
  };

  ctx.mount(cfg.mountPath, buildTree(cfg.mountPath.split('/').filter(Boolean).pop() ?? 'fileserver', service));
  ctx.log.info(`serving on ${base} (store ${storeDir}${assetsDir ? `, assets ${assetsDir}` : ''})`);
  return service;
}
