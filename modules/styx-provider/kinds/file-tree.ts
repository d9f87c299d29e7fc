// `server: "file"`: a .ts file whose `tree(ctx)` (or default export) returns the tree to export.
// It is loaded through the evictable loader and reloaded, like a module, whenever it changes;
// the new tree replaces the old one at the same path (fids on the old one get ESTALE).
import { watch } from 'chokidar';
import { loadCodeFile } from '../../../core/loader.ts';
import type { ModuleContext } from '../../../core/types.ts';
import type { Node } from '../../../fs/tree/types.ts';

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
  const watcher = ctx.own(watch(file, { ignoreInitial: true }));
  let queue = Promise.resolve();
  const reload = () => {
    queue = queue.then(async () => {
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
    });
  };
  watcher.on('change', reload);
  watcher.on('add', reload);
}
