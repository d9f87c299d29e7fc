// live-app: the example app of the `live` role. GET / is a page, GET /api/info says which node
// and version answered, and /live is a WebSocket that pushes a tick every tickMs and echoes what
// it is sent. Every answer carries X-Served-By: <node>. The listener is handed from version to
// version (serveHttp), so a reload (e.g. pushed cluster-wide from the seed) refuses no request;
// open WebSockets are closed with 1012 (service restart) and clients reconnect.
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveHttp, type ModuleContext } from 'cheshire/sdk';
import { PAGE } from './page.ts';

interface Config { host: string; port: number; tickMs: number }

export async function start(ctx: ModuleContext<Config>) {
  const node = ctx.host.node;
  const started = Date.now();
  const info = () => ({ node, role: ctx.host.role, pid: process.pid, module: ctx.id, version: ctx.version, startedAt: new Date(started).toISOString() });
  const server = await serveHttp(ctx, ctx.config.host, ctx.config.port, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const headers = { 'x-served-by': node, 'cache-control': 'no-store' };
    if (path === '/api/info') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(info()) + '\n');
    } else if (path === '/') {
      res.writeHead(200, { ...headers, 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      res.end(`no ${path} here\n`);
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<WebSocket>();
  wss.on('connection', (ws) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    ws.on('message', (m) => ws.send(JSON.stringify({ type: 'echo', node, data: String(m) })));
    ws.send(JSON.stringify({ type: 'hello', node }));
  });
  // The server may come from an earlier version: handle upgrades in this version's context.
  const onUpgrade = AsyncResource.bind((req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').split('?')[0] !== '/live') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  server.removeAllListeners('upgrade');
  server.on('upgrade', onUpgrade);
  let n = 0;
  const tick = setInterval(() => {
    const msg = JSON.stringify({ type: 'tick', node, n: ++n, at: Date.now() });
    for (const ws of clients) ws.send(msg);
  }, ctx.config.tickMs);
  ctx.onStop(() => {
    clearInterval(tick);
    server.off('upgrade', onUpgrade);
    for (const ws of clients) ws.close(1012, 'live-app restarting');
    wss.close();
  });
  const port = (server.address() as { port: number }).port;
  ctx.log.info(`live app on http://${ctx.config.host}:${port} (WebSocket push on /live)`);
  return { url: () => `http://${ctx.config.host}:${port}`, clients: () => clients.size };
}
