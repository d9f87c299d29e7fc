// `server: "file"`: a .ts file whose `tree(ctx)` (or default export) returns the tree to export.
// It is loaded through the evictable loader and reloaded, like a module, whenever it changes;
// the new tree replaces the old one at the same path (fids on the old one get ESTALE).
// Watched with the core's Watcher (coalescing, and the settle check for the change chokidar
// drops 50 ms after another: a save that truncates then writes would otherwise leave the
// empty file's failed load as the last word).
import { loadCodeFile, Watcher, type ModuleContext, type Node } from 'cheshire/sdk';

type TreeFactory = (ctx: ModuleContext<any>) => Node | Promise<Node>;

async function loadTree(ctx: ModuleContext<any>, file: string): Promise<{ hash: string; tree: Node }> {
  const { hash, exports } = await loadCodeFile(file);
  const make = (exports.tree ?? exports.default) as TreeFactory | undefined;
  if (typeof make !== 'function') throw new Error(`${file} must export tree(ctx) (or a default function) returning a tree node`);
  return { hash, tree: await make(ctx) };
}

export async function serveFileTree(ctx: ModuleContext<any>, file: string, path: string): Promise<void> {
  let current = await loadTree(ctx, file);
  ctx.mount(path, current.tree);
  const watcher = ctx.own(new Watcher(async () => {
    if (ctx.signal.aborted) return;
    const t0 = performance.now();
    try {
      const next = await loadTree(ctx, file);
      if (next.hash === current.hash) return;
      current = next;
      ctx.mount(path, next.tree);
      ctx.log.info(`${file} reloaded #${next.hash} in ${Math.round(performance.now() - t0)} ms`);
    } catch (err) {
      ctx.log.error({ err }, `${file}: reload refused, the previous tree keeps serving: ${(err as Error).message}`);
    }
  }, 5));
  watcher.setTargets([{ key: file, path: file, accepts: () => true }]);
  await watcher.ready;
}
