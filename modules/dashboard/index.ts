// dashboard: the node's web page (127.0.0.1:7070 by default): the module graph, the reload
// timeline, each instance's status, health, logs, config and revisions with actions, and the
// cluster the seed knows, live over a WebSocket; /healthz and /metrics beside it. Everything it
// shows and does goes through ctx.host, like the 9P tree and the CLI. Off loopback it needs a token
// (docs/dashboard.md). The listener is handed from version to version (serveHttp), so a reload
// refuses no connection; open pages are told to reconnect (1012) and resync.
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { serveHttp, type ModuleContext } from 'cheshire/sdk';
import { Gate, checkListen } from './access.ts';
import { ClientCode } from './client-code.ts';
import { Cluster, type ClusterDeps } from './cluster.ts';
import { applyLimits, hostAllowed, sameOrigin } from './http-util.ts';
import { Live } from './live.ts';
import { RemoteNodes } from './remote.ts';
import { routes } from './routes.ts';
import { StateTracker } from './state.ts';

interface Config {
  host: string;
  port: number;
  token?: string;
  coalesceMs: number;
  timeline: number;
  logTail: number;
  maxClients: number;
  ninepSecret?: string;
}

/** The dashboard's service (for tests and benchmarks on the same node). */
export interface Dashboard {
  url(): string;
  /** Pages connected now. */
  pages(): number;
  /** Hash of the page bundle served now. */
  client(): string;
}

/** A WebSocket message from a page is tiny (which log to follow). */
const WS_MAX_PAYLOAD = 4096;

export async function start(ctx: ModuleContext<Config, ClusterDeps>): Promise<Dashboard> {
  const c = ctx.config;
  checkListen(ctx.id, c.host, c.token); // before anything listens
  const gate = new Gate(c.token);
  let selfKey: string | null = null;
  try { selfKey = ctx.host.identity.publicKey; } catch { /* failsafe before the key loaded */ }

  let live: Live | null = null;
  const code = await ClientCode.load(ctx, ctx.host.sourceDir(ctx.id), (b) => live?.clientChanged(b.hash));
  const cluster = new Cluster(ctx.deps, selfKey, () => live?.schedule());
  ctx.onStop(() => cluster.close());
  for (const as of ['seed', 'seedClient'] as const) {
    ctx.onBind(as, () => { cluster.sync(); live?.schedule(); });
    ctx.onUnbind(as, () => { cluster.sync(); live?.schedule(); });
  }
  const remote = new RemoteNodes(c.ninepSecret, () => ctx.host.identity.tls());
  ctx.onStop(() => remote.close());

  const state = new StateTracker(ctx.host, { timeline: c.timeline, cluster: () => cluster.view() });
  live = new Live({
    host: ctx.host, state, log: ctx.log, coalesceMs: c.coalesceMs, logTail: c.logTail, maxClients: c.maxClients,
    client: () => code.bundle.hash, auth: gate.enabled,
  });
  const feed = live;
  ctx.onStop(() => feed.close());

  const server = await serveHttp(ctx, c.host, c.port, routes({ host: ctx.host, cluster, remote, gate, bundle: () => code.bundle }));
  applyLimits(server);
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  // Upgrades reach a server an earlier version may have created: run them in this version's
  // async context, so the socket's callbacks belong to this instance.
  const onUpgrade = AsyncResource.bind((req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://dashboard').pathname;
    const refusal = path !== '/live' ? '404 Not Found'
      : !hostAllowed(req, !gate.enabled) || !sameOrigin(req) ? '403 Forbidden'
      : !gate.admits(req) ? '401 Unauthorized' : null;
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => feed.accept(ws));
  });
  server.removeAllListeners('upgrade');
  server.on('upgrade', onUpgrade);
  ctx.onStop(() => {
    server.off('upgrade', onUpgrade);
    wss.close();
  });

  const port = (server.address() as { port: number }).port;
  const url = `http://${c.host.includes(':') ? `[${c.host}]` : c.host}:${port}/`;
  ctx.log.info(`dashboard on ${url}${gate.enabled ? ' (token required)' : ''}`);
  return { url: () => url, pages: () => feed.size, client: () => code.bundle.hash };
}
