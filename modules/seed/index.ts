// seed: the cluster's meeting point. Nodes (their seed-client) connect to the WebSocket meta port,
// introduce themselves with a message signed by their node key, heartbeat, and are dropped when
// they disconnect or fall silent. The seed keeps the routing directory (Host/path prefix -> live
// nodes), pushes it to subscribers (proxies) and pushes events: "app build N published",
// "reload module M on role R". The directory is at /seed in the node's 9P tree.
//
// The HTTP listener is handed from version to version (serveHttp), so a reload refuses no
// connection; open WebSockets are closed with 1012 and nodes reconnect at once.
import { AsyncResource } from 'node:async_hooks';
import { WebSocketServer } from 'ws';
import { serveHttp, type ModuleContext } from 'cheshire/sdk';
import type { Directory } from './protocol.ts';
import { Hub, type EventRecord } from './hub.ts';
import { seedTree } from './tree.ts';
import { makeTrust } from './trust.ts';
import { sniffMetaPort } from './tls.ts';

interface Config {
  host: string;
  port: number;
  trust: string[];
  joinTokens: string[];
  heartbeatMs: number;
  missedHeartbeats: number;
  maxSkewMs: number;
  helloTimeoutMs: number;
  ackWaitMs: number;
  /** Serve wss (the node certificate) besides plaintext ws from loopback. */
  tls: boolean;
  /** Plaintext ws from any address. */
  plaintext: boolean;
}

/** The seed's service (for modules on the seed's own node, and tests). */
export interface Seed {
  url(): string;
  directory(): Directory;
  onDirectory(fn: (d: Directory) => void): () => void;
  publish(build: number): EventRecord;
  reload(module: string, role: string): Promise<EventRecord>;
}

export async function start(ctx: ModuleContext<Config>): Promise<Seed> {
  const c = ctx.config;
  let ownKey: string | null = null;
  try { ownKey = ctx.host.identity.publicKey; } catch { /* no identity: trust only the configured keys */ }
  const hub = new Hub({
    log: ctx.log, seedKey: ownKey ?? '', heartbeatMs: c.heartbeatMs, missedHeartbeats: c.missedHeartbeats,
    maxSkewMs: c.maxSkewMs, helloTimeoutMs: c.helloTimeoutMs, ackWaitMs: c.ackWaitMs,
    trusted: makeTrust(c, ownKey),
  });
  const server = await serveHttp(ctx, c.host, c.port, (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket', connection: 'Upgrade' });
    res.end('This is a Cheshire seed\'s meta port: nodes connect here with a WebSocket (modules/seed-client).\n');
  }, 'meta');
  let tls = false;
  if (c.tls && ownKey) {
    const credentials = await ctx.host.identity.tls();
    sniffMetaPort(server, { credentials, plaintext: c.plaintext, handshakeMs: c.helloTimeoutMs, log: ctx.log });
    tls = true;
  }
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  // Upgrades arrive on a server an earlier version may have created: run them in this version's
  // async context, so the connection's callbacks (and their timers) belong to this instance.
  const onUpgrade = AsyncResource.bind((req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    wss.handleUpgrade(req, socket, head, (ws) => hub.accept(ws, req));
  });
  server.removeAllListeners('upgrade');
  server.on('upgrade', onUpgrade);
  ctx.onStop(async () => {
    server.off('upgrade', onUpgrade);
    await hub.close();
    wss.close();
  });
  const sweep = setInterval(() => hub.sweep(), Math.max(10, Math.floor(c.heartbeatMs / 2)));
  ctx.onStop(() => clearInterval(sweep));
  ctx.mount('/seed', seedTree(hub));
  const addr = server.address() as { port: number };
  const url = `${tls ? 'wss' : 'ws'}://${c.host.includes(':') ? `[${c.host}]` : c.host}:${addr.port}`;
  ctx.log.info(`seed meta port on ${url}${tls ? ` (key ${ownKey}; plaintext ws ${c.plaintext ? 'from anywhere' : 'from loopback only'})` : ''}; trusts ${c.trust.length} key(s)${ownKey ? ' and its own' : ''}${c.joinTokens.length ? `, ${c.joinTokens.length} join token(s)` : ''}`);
  return {
    url: () => url,
    directory: () => hub.directory.snapshot(),
    onDirectory: (fn) => hub.onDirectory(fn),
    publish: (build) => hub.publish(build),
    reload: (module, role) => hub.reload(module, role),
  };
}
