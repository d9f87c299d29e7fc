// Module helper: an HTTP server whose listening socket survives reloads. The first version
// listens; each later version takes the server over and swaps in its own request handler, so a
// reload neither refuses nor drops a request. A final stop (or a changed address) closes it.
import http from 'node:http';
import type { ModuleContext } from '../types.ts';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** `options` apply when the server is created (the first version, or a changed address), not to a server taken over. */
export async function serveHttp(ctx: ModuleContext<any>, host: string, port: number, handler: Handler, key = 'http', options: http.ServerOptions = {}): Promise<http.Server> {
  let server = ctx.takeOver<http.Server>(key);
  const addr = server?.address();
  if (server && (typeof addr !== 'object' || !addr || addr.address !== host || (port !== 0 && addr.port !== port))) {
    await closeServer(server); // the address changed: let go of the old socket
    server = undefined;
  }
  if (!server) {
    const fresh = http.createServer(options);
    await new Promise<void>((resolve, reject) => {
      fresh.once('error', reject);
      fresh.listen(port, host, () => { fresh.off('error', reject); resolve(); });
    });
    server = fresh;
  }
  ctx.handOver(key, server, closeServer);
  server.removeAllListeners('request');
  server.on('request', (req, res) => {
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      ctx.log.error({ err }, `request ${req.method} ${req.url} failed`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  return server;
}

export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
