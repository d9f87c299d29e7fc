// shout: depends on greeter with the `static` policy, so it is stopped before greeter reloads
// and started again after it, always holding the current greeter directly (no handle).
import { serveHttp, type ModuleContext } from 'cheshire/sdk';
import type { Greeter } from '../greeter/index.ts';

export async function start(ctx: ModuleContext<{ host: string; port: number }, { greeter: Greeter }>) {
  const greeter = ctx.deps.greeter;
  const shout = (name: string) => greeter.greet(name).toUpperCase();
  await serveHttp(ctx, ctx.config.host, ctx.config.port, (req, res) => {
    const name = new URL(req.url ?? '/', 'http://localhost').searchParams.get('name') ?? 'world';
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${shout(name)}\n`);
  });
  return { shout };
}
