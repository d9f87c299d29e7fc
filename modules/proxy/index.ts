// proxy: the cluster's HTTP(S) front. Routes by Host and path prefix to the live nodes the seed's
// directory lists (pushed through seed-client, not asked per request; plus static `routes`),
// spreads requests round-robin, skips nodes that failed recently, retries a request once on
// another node when nothing of it can have been acted on, streams bodies both ways, passes
// WebSocket upgrades through and answers 502/503/504 with a one-line reason. The design and the
// measurement behind it are in relay.ts.
//
// The listening socket is handed from version to version; connections idle at a reload move to
// the new version, busy ones finish their exchange on the old code and then close.
import { AsyncResource } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { dir, file, httpRequests, type ModuleContext } from 'cheshire/sdk';
import type { Directory } from '../seed/protocol.ts';
import type { SeedClient } from '../seed-client/index.ts';
import { Pool } from './pool.ts';
import { ClientConn, type ProxyStats, type RelayContext } from './relay.ts';
import { RouteTable, type RouteSpec } from './routes.ts';
import { proxyError } from './errors.ts';
import { proxyGuard } from './guard.ts';

interface Config {
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  routes: Array<{ host?: string; prefix: string; nodes: string[] }>;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  idleTimeoutMs: number;
  upstreamIdleMs: number;
  maxIdlePerNode: number;
  failMs: number;
  maxHeadBytes: number;
  headTimeoutMs: number;
  bodyTimeoutMs: number;
  maxConnections: number;
  maxPerAddress: number;
  operatorReserve: number;
}

interface Listener {
  server: net.Server;
  key: string;
  /** Idle client connections left by the previous version, paused, for this one to adopt. */
  adopt: net.Socket[];
}

export interface Proxy {
  url(): string;
  stats(): ProxyStats;
  routes(): Array<{ host: string; prefix: string; nodes: string[] }>;
}

function listen(server: net.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
}

export async function start(ctx: ModuleContext<Config, { seedClient?: SeedClient | null }>): Promise<Proxy> {
  const c = ctx.config;
  let secure: { cert: Buffer; key: Buffer } | null = null;
  if (c.tls) {
    try {
      secure = { cert: readFileSync(c.tls.cert), key: readFileSync(c.tls.key) };
      tls.createSecureContext(secure);
    } catch (err) {
      throw proxyError('CHS_ERR_PROXY_TLS', `${ctx.id}: cannot use tls.cert ${c.tls.cert} / tls.key ${c.tls.key}: ${(err as Error).message}`, err);
    }
  }
  const key = JSON.stringify([c.host, c.port, c.tls ?? null]);
  let l = ctx.takeOver<Listener>('listener');
  if (l && l.key !== key) {
    for (const s of l.adopt.splice(0)) s.destroy();
    l.server.close();
    l = undefined;
  }
  if (!l) {
    const server = secure
      ? tls.createServer({ ...secure, allowHalfOpen: true, handshakeTimeout: c.headTimeoutMs })
      : net.createServer({ allowHalfOpen: true, noDelay: true });
    await listen(server, c.port, c.host);
    l = { server, key, adopt: [] };
  }
  const listener = l;
  ctx.handOver('listener', listener, (old) => {
    for (const s of old.adopt.splice(0)) s.destroy();
    old.server.close();
  });

  const guard = proxyGuard(ctx, listener.server, c); // caps and deadlines; kept with the listener across versions
  const routes = new RouteTable();
  const pool = new Pool({ idleMs: c.upstreamIdleMs, maxIdlePerNode: c.maxIdlePerNode, connectTimeoutMs: c.connectTimeoutMs, responseTimeoutMs: c.responseTimeoutMs });
  const stats: ProxyStats = { connections: 0, requests: 0, retries: 0, upgrades: 0, byStatus: {} };
  const x: RelayContext = {
    routes, pool, proto: secure ? 'https' : 'http', stats,
    connectTimeoutMs: c.connectTimeoutMs, responseTimeoutMs: c.responseTimeoutMs, idleTimeoutMs: c.idleTimeoutMs,
    failMs: c.failMs, maxHeadBytes: c.maxHeadBytes, guard, http: httpRequests(ctx),
  };
  const conns = new Set<ClientConn>();
  const gone = (cc: ClientConn) => { conns.delete(cc); };
  // Connections arrive on a server an earlier version may have created: handle them in this
  // version's async context so what they start belongs to this instance.
  const accept = AsyncResource.bind((sock: net.Socket, initial: Buffer | null = null) => {
    conns.add(new ClientConn(sock, x, gone, initial));
  });
  for (const s of listener.adopt.splice(0)) if (!s.destroyed) accept(s);
  const event = secure ? 'secureConnection' : 'connection';
  listener.server.removeAllListeners(event);
  listener.server.on(event, (sock: net.Socket) => { if (guard.admit(sock)) accept(sock); });

  const staticRoutes: RouteSpec[] = c.routes.map((r) => ({
    host: r.host ?? '*', prefix: r.prefix, nodes: r.nodes.map((u) => ({ node: u.replace(/^http:\/\/|\/$/g, ''), http: u })),
  }));
  routes.update(staticRoutes);
  const seedClient = ctx.deps.seedClient;
  let directory: Directory | null = null;
  if (seedClient) {
    const off = seedClient.onDirectory((d) => {
      directory = d;
      routes.update([...staticRoutes, ...d.routes]);
    });
    ctx.onStop(off);
  }

  ctx.onStop(() => {
    // Until the next version starts (or the final stop disposes the listener), new connections
    // wait, paused, for it to adopt them.
    listener.server.removeAllListeners(event);
    listener.server.on(event, (sock: net.Socket) => { if (guard.admit(sock)) { sock.pause(); listener.adopt.push(sock); } });
    for (const cc of [...conns]) {
      if (cc.idle) listener.adopt.push(cc.detach());
      else cc.stop();
    }
    pool.close();
  });

  const routeList = () => routes.routes().map((r) => ({ host: r.host, prefix: r.prefix, nodes: r.targets.map((t) => `${t.name}=${t.key}`) }));
  const mountName = ctx.id.replace(/[#@]/g, '-'); // /proxy, or /proxy-tls for proxy#tls
  ctx.mount(`/${mountName}`, dir(mountName, [
    file('routes', { read: () => routeList().map((r) => `${r.host} ${r.prefix} -> ${r.nodes.join(' ') || '(no live node)'}\n`).join('') }),
    file('stats', {
      read: () => JSON.stringify({
        ...stats, open: conns.size, ...guard.stats(), idleUpstreams: pool.idleCount(), directoryVersion: directory ? (directory as Directory).version : null,
      }, null, 2) + '\n',
    }),
  ]));

  const addr = listener.server.address() as net.AddressInfo;
  const url = `${secure ? 'https' : 'http'}://${c.host.includes(':') ? `[${c.host}]` : c.host}:${addr.port}`;
  ctx.log.info(`proxy on ${url}; routes from ${seedClient ? `the seed (${seedClient.seed()})` : 'config only'}${staticRoutes.length ? ` and ${staticRoutes.length} static` : ''}`);
  return { url: () => url, stats: () => stats, routes: routeList };
}
