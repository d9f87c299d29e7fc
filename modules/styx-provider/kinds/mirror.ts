// `server: "module"`: re-exports the subtree another module instance mounted (its control
// server) at a different path, following it as that instance restarts or remounts.
import { NodeAlias, SynDir, type ModuleContext, type Node } from 'cheshire/sdk';

export function mirrorModule(ctx: ModuleContext<any>, source: string, path: string): void {
  let shown = '';
  const sync = () => {
    const mounts = ctx.host.mounts().filter((m) => m.owner === source);
    const key = mounts.map((m) => `${m.path}@${m.generation}`).join(',');
    if (key === shown || ctx.signal.aborted) return;
    shown = key;
    const last = (p: string) => p.split('/').filter(Boolean).at(-1)!;
    // Aliases, so that replacing this mirror never marks the source's own subtree removed.
    const tree: Node = mounts.length === 1
      ? new NodeAlias(last(path), mounts[0]!.tree as Node)
      : new SynDir(last(path), mounts.map((m) => new NodeAlias(last(m.path), m.tree as Node)));
    ctx.mount(path, tree);
    ctx.log.info(`mirroring ${mounts.length} subtree(s) of ${source} at ${path}`);
  };
  ctx.onStop(ctx.host.onMounts(sync));
  sync();
}
