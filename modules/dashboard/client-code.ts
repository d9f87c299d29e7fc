// The page bundle over the dashboard's life: built at start (or taken over from the previous
// version when no client file changed since, so a reload of the server code costs no bundling),
// and rebuilt when a file under client/ is saved. Those files are not part of the module's own
// code (the host bundles index.ts and what it imports), so the module watches them itself and
// tells open pages to load the new bundle.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Watcher, type ModuleContext } from 'cheshire/sdk';
import { bundleClient, type ClientBundle } from './bundle.ts';

interface Kept {
  bundle: ClientBundle;
  stamp: string;
}

function stamp(files: string[]): string {
  return files.map((f) => {
    try {
      const s = statSync(f);
      return `${f}:${s.mtimeMs}:${s.size}`;
    } catch {
      return `${f}:gone`;
    }
  }).join('|');
}

export class ClientCode {
  /** Handed to the next version as it is at stop: the newest bundle. */
  private readonly holder: { kept: Kept };

  private constructor(kept: Kept) {
    this.holder = { kept };
  }

  static async load(ctx: ModuleContext<any, any>, moduleDir: string, onChange: (b: ClientBundle) => void): Promise<ClientCode> {
    const prev = ctx.takeOver<{ kept: Kept }>('client-bundle')?.kept;
    const kept = prev && prev.stamp === stamp(prev.bundle.files) ? prev : await build(moduleDir);
    const code = new ClientCode(kept);
    ctx.handOver('client-bundle', code.holder, () => undefined);
    const watcher = ctx.own(new Watcher(async () => {
      try {
        const next = await build(moduleDir);
        const changed = next.bundle.hash !== code.holder.kept.bundle.hash;
        code.holder.kept = next;
        if (!changed) return; // a change that bundles to the same code (a comment) reloads no page
        onChange(next.bundle);
        ctx.log.info(`page bundle rebuilt #${next.bundle.hash} in ${next.bundle.ms} ms`);
      } catch (err) {
        ctx.log.error({ err }, (err as Error).message);
      }
    }, 20));
    watcher.setTargets([{ key: 'client', path: join(moduleDir, 'client'), accepts: (f) => /\.(js|css)$/.test(f) }]);
    if (!prev || kept !== prev) ctx.log.info(`page bundle #${kept.bundle.hash} built in ${kept.bundle.ms} ms`);
    return code;
  }

  get bundle(): ClientBundle {
    return this.holder.kept.bundle;
  }
}

async function build(moduleDir: string): Promise<Kept> {
  const bundle = await bundleClient(moduleDir);
  return { bundle, stamp: stamp(bundle.files) };
}
