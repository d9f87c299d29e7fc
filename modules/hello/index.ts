// hello: an HTTP server answering GET / with a greeting. Its listener is handed from version to
// version (serveHttp), so saving this file swaps the code without refusing a request. greeter is
// a dynamic dependency: hello keeps running while greeter reloads.
import { httpRequests, serveHttp, type Dynamic, type ModuleContext } from 'cheshire/sdk';
import type { Greeter } from '../greeter/index.ts';

export const GREETING = 'Hello from Cheshire';

/** The reply to a request path: the greeting at `/`, else the greeter's words for `?name=` (default world). */
export async function reply(url: URL, greet: (who: string) => string | Promise<string>): Promise<string> {
  return url.pathname === '/' ? GREETING : greet(url.searchParams.get('name') ?? 'world');
}

export async function start(ctx: ModuleContext<{ host: string; port: number }, { greeter: Dynamic<Greeter> }>) {
  const greeter = ctx.deps.greeter;
  ctx.onUnbind('greeter', () => ctx.log.info('greeter went away; calls wait for it'));
  const http = httpRequests(ctx);
  const server = await serveHttp(ctx, ctx.config.host, ctx.config.port, async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    http.count(res, url.pathname === '/' ? '/' : '/greet');
    const line = await reply(url, (who) => greeter.greet(who));
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${line}\n`);
  });
  const addr = server.address();
  ctx.log.info(`listening on http://${ctx.config.host}:${typeof addr === 'object' && addr ? addr.port : ctx.config.port}`);
  return { url: () => `http://${ctx.config.host}:${(server.address() as { port: number }).port}` };
}
