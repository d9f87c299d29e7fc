// seed-client: connects this node to its seed (config `seed`), introduces it signed with the node
// key (role, module instances, the HTTP base URL and Host/path prefixes it serves, its 9P address),
// heartbeats and reconnects with backoff. Pushed events are handled here ("reload module M": this
// node reloads it) and handed to modules through the service (onEvent: "app build N published",
// on which a fileserver re-reads its assets). A proxy calls onDirectory() to subscribe to the
// routing directory.
import { CheshireError, dir, file, isLoopback, type ModuleContext } from 'cheshire/sdk';
import type { Directory, NodeHealth, SeedEvent, SeedRoute } from '../seed/protocol.ts';
import { SeedConnection } from './connection.ts';

interface Config {
  seed: string;
  http: string | null;
  routes: Array<{ host?: string; prefix: string; http?: string }>;
  ninep: string | null;
  token?: string;
  /** wss: the seed node's key to pin (default: this node's own, for a seed on the same node). */
  seedKey?: string;
  /** ws:// to a seed on another machine. */
  plaintext: boolean;
  backoffMs: number;
  backoffMaxMs: number;
}

/** The service other modules get (require `seed-client`). */
export interface SeedClient {
  /** Whether the seed accepted this node and the connection is up. */
  connected(): boolean;
  /** The seed's URL. */
  seed(): string;
  /** The last directory the seed pushed (null before the first; kept while the seed is away). */
  directory(): Directory | null;
  /** Subscribes to the directory: fn gets every version the seed pushes. Returns the unsubscribe. */
  onDirectory(fn: (d: Directory) => void): () => void;
  /** Every event the seed pushes (`build`, `reload`). Returns the unsubscribe. */
  onEvent(fn: (e: SeedEvent) => void): () => void;
  /** The last app build the seed announced, or null. */
  build(): number | null;
}


export async function start(ctx: ModuleContext<Config>): Promise<SeedClient> {
  const c = ctx.config;
  const identity = ctx.host.identity;
  const dirFns = new Set<(d: Directory) => void>();
  const eventFns = new Set<(e: SeedEvent) => void>();
  let directory: Directory | null = null;
  let build: number | null = null;
  const routes: SeedRoute[] = c.routes.map((r) => ({ host: (r.host ?? '*').toLowerCase(), prefix: r.prefix, ...(r.http ? { http: r.http.replace(/\/$/, '') } : {}) }));

  // The node's 9P address: config, else styx-root's `listen` (read from the node's status rather
  // than through a dependency, which would plan styx-root onto every node that runs seed-client).
  const ninep = (): string | null => {
    if (c.ninep) return c.ninep;
    const styx = ctx.host.status().instances.find((i) => i.module === 'styx-root' && i.state === 'active');
    const listen = styx?.config.listen;
    return typeof listen === 'string' ? listen : null;
  };
  const emit = (e: SeedEvent) => {
    for (const fn of eventFns) {
      try { fn(e); } catch (err) { ctx.log.error({ err }, `a seed event listener threw on ${e.type}`); }
    }
  };

  // wss pins the seed's key; plaintext ws only to a seed on this machine unless `plaintext` is set.
  const seedUrl = new URL(c.seed);
  const seedHost = seedUrl.hostname.replace(/^\[(.*)\]$/, '$1');
  if (seedUrl.protocol === 'ws:' && !c.plaintext && seedHost !== 'localhost' && !isLoopback(seedHost)) {
    throw new CheshireError('CHS_ERR_TLS_PLAINTEXT', `${ctx.id}: ${c.seed} is on another machine: use wss:// with the seed's "seedKey", or set "plaintext": true`);
  }
  const expectKey = (c.seedKey ?? identity.publicKey).toLowerCase();
  const tls = seedUrl.protocol === 'wss:' ? { ...(await identity.tls()), expectKey } : undefined;

  const conn = new SeedConnection({
    url: c.seed,
    identity,
    ...(tls ? { tls } : {}),
    log: ctx.log,
    backoffMs: c.backoffMs,
    backoffMaxMs: c.backoffMaxMs,
    intro: () => ({
      node: ctx.host.node,
      role: ctx.host.role,
      modules: ctx.host.status().instances.map((i) => i.id),
      http: c.http ? c.http.replace(/\/$/, '') : null,
      routes,
      ninep: (sentNinep = ninep()),
      health: (sentHealth = nodeHealth()),
      ...(c.token ? { token: c.token } : {}),
    }),
    onDirectory: (d) => {
      directory = d;
      for (const fn of dirFns) {
        try { fn(d); } catch (err) { ctx.log.error({ err }, 'a directory listener threw'); }
      }
    },
    onWelcome: (b) => {
      if (b !== null && b !== build) {
        build = b;
        emit({ type: 'build', build: b });
      }
    },
    onEvent: async (seq, e) => {
      if (e.type === 'build') {
        build = e.build;
        ctx.log.info(`app build ${e.build} published`);
        emit(e);
        return null;
      }
      emit(e);
      if (e.type !== 'reload') return `unknown event type`;
      if (e.role !== '*' && e.role !== ctx.host.role) return `this node's role is ${ctx.host.role}, not ${e.role}`;
      ctx.log.info(`the seed asks to reload ${e.module}`);
      if (e.module === ctx.id) {
        // Reloading seed-client stops this connection: answer first.
        conn.ackNow(seq);
        void ctx.host.reload(e.module).catch((err: unknown) => ctx.log.error({ err }, `reload ${e.module} failed`));
        return undefined;
      }
      try {
        await ctx.host.reload(e.module);
        return null;
      } catch (err) {
        return (err as Error).message;
      }
    },
  });
  let sentNinep: string | null = null;
  let sentHealth: NodeHealth | null = null;
  /** Failing: instances whose check fails, or that should run and are not active (stopped on purpose do not count). */
  const nodeHealth = (): NodeHealth => {
    const wanted = new Map(ctx.host.status().instances.map((i) => [i.id, i.state !== 'stopped' && !i.disabled]));
    const failing = ctx.host.health().filter((h) => !h.ok && wanted.get(h.id)).map((h) => h.id);
    return { ok: failing.length === 0, failing };
  };
  conn.start();
  ctx.onStop(() => conn.stop());
  // styx-root may come up after the introduction, and health changes: a new 9P address, or a change of health, is told to the seed by introducing the node again.
  const recheck = setInterval(() => {
    if (conn.connected && (ninep() !== sentNinep || JSON.stringify(nodeHealth()) !== JSON.stringify(sentHealth))) conn.reintroduce();
  }, 1000);
  ctx.onStop(() => clearInterval(recheck));

  ctx.mount('/seed-client', dir('seed-client', [
    file('status', {
      read: () => [
        `seed ${c.seed}`,
        `connected ${conn.connected ? `yes since ${new Date(conn.connectedSince ?? 0).toISOString()}` : 'no'}`,
        `key ${identity.publicKey}`,
        `seed-key ${conn.seedKey ?? '-'}`,
        `http ${c.http ?? '-'}`,
        `routes ${routes.map((r) => `${r.host}${r.prefix}${r.http ? `=${r.http}` : ''}`).join(' ') || '-'}`,
        `build ${build ?? '-'}`,
        `refused ${conn.lastRefusal ? `${conn.lastRefusal.code}: ${conn.lastRefusal.reason}` : '-'}`,
        '',
      ].join('\n'),
    }),
  ]));
  ctx.log.info(`connecting to the seed ${c.seed}${c.http ? `; serving ${routes.map((r) => r.host + r.prefix).join(' ')} at ${c.http}` : ''}`);

  return {
    connected: () => conn.connected,
    seed: () => c.seed,
    directory: () => directory,
    onDirectory(fn) {
      dirFns.add(fn);
      conn.subscribe();
      if (directory) fn(directory);
      return () => { dirFns.delete(fn); };
    },
    onEvent(fn) {
      eventFns.add(fn);
      return () => { eventFns.delete(fn); };
    },
    build: () => build,
  };
}
