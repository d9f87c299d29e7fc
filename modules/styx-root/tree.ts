// The node's tree: /ctl, /status, /log, /modules/M/{ctl,status,config,log,deps,revisions}, and
// the subtrees other modules mount. Everything reads live state from ctx.host.
import { formatRecord, E, ctl, file, root, stream, SynDir, type LogRecord, type HostControl, type ModuleContext, type SynStream, type Node } from 'cheshire/sdk';
import { runCommand } from './commands.ts';
import { JsonFile } from './json-file.ts';
import { MountGrafter } from './mounts.ts';
import { SourceDir } from './source.ts';
import { depsText, historyText, instanceStatusText, nodeStatusText, revisionsText } from './texts.ts';

const HISTORY_LINES = 200;

function instanceDir(host: HostControl, me: string, id: string, log: SynStream): SynDir {
  const status = () => {
    const st = host.status().instances.find((i) => i.id === id);
    if (!st) throw E.removed;
    return st;
  };
  return new SynDir(id, [
    ctl('ctl', (cmd) => runCommand(host, me, cmd, id), { read: () => 'reload | stop | start | test | revert REV | rollback [REV]\n' }),
    file('status', { read: () => instanceStatusText(status()) }),
    new JsonFile('config', {
      read: () => host.config(id).effective,
      apply: async (value) => { await host.setConfig(id, value); },
    }),
    log,
    file('deps', { read: () => depsText(status(), host.status().instances) }),
    file('revisions', { read: async () => revisionsText(await host.revisions(id)) }),
    file('history', { read: async () => historyText(await host.history(id)) }),
    // The node's own section for the instance (cheshire.json modules[id]), without defaults: what
    // `cheshire config set M key=value` edits, so defaults are not pinned into the file.
    file('override', { read: () => JSON.stringify(host.config(id).override, null, 2) + '\n' }),
    new SourceDir(() => host.sourceDir(id)),
  ]);
}

/** /modules: one directory per instance, kept in step with the host on every lookup and listing. */
class ModulesDir extends SynDir {
  private readonly logs = new Map<string, SynStream>();
  constructor(private readonly host: HostControl, private readonly me: string) {
    super('modules');
  }

  /** The log stream of an instance, created with its recent history. */
  logOf(id: string): SynStream {
    let s = this.logs.get(id);
    if (!s) {
      s = stream('log', { history: 256 * 1024 });
      for (const r of this.host.logs(id).slice(-HISTORY_LINES)) s.append(formatRecord(r));
      this.logs.set(id, s);
    }
    return s;
  }

  private sync(): void {
    const ids = new Set(this.host.status().instances.map((i) => i.id));
    for (const child of super.list()) {
      if (!ids.has(child.name)) {
        this.remove(child.name);
        this.logs.delete(child.name);
      }
    }
    for (const id of ids) if (!this.get(id)) this.add(instanceDir(this.host, this.me, id, this.logOf(id)));
  }

  override lookup(name: string): Node | undefined {
    this.sync();
    return super.lookup(name);
  }

  override list(): readonly Node[] {
    this.sync();
    return super.list();
  }

  record(r: LogRecord): void {
    this.logs.get(r.module)?.append(formatRecord(r));
  }
}

export interface NodeTree {
  root: SynDir;
  dispose(): void;
}

export function buildTree(ctx: ModuleContext<any>): NodeTree {
  const host = ctx.host;
  const nodeLog = stream('log', { history: 256 * 1024 });
  for (const id of ['host', ...host.status().instances.map((i) => i.id)]) {
    for (const r of host.logs(id).slice(-HISTORY_LINES)) nodeLog.append(formatRecord(r));
  }
  const modules = new ModulesDir(host, ctx.id);
  const tree = root([
    ctl('ctl', (cmd) => runCommand(host, ctx.id, cmd), { read: () => 'reload M | stop M | start M | test M\n' }),
    file('status', { read: () => nodeStatusText(host.status()) }),
    file('failsafe', { read: () => { const f = host.status().failsafe; return f ? `${f.code}: ${f.message}\n\n${f.stack}\n` : ''; } }),
    nodeLog,
    modules,
  ]);
  const grafter = new MountGrafter(tree, new Set(['ctl', 'status', 'failsafe', 'log', 'modules']), (m) => ctx.log.warn(m));
  grafter.sync(host.mounts());
  const offMounts = host.onMounts(() => grafter.sync(host.mounts()));
  const offLog = host.onLog((r) => {
    nodeLog.append(formatRecord(r));
    modules.record(r);
  });
  return {
    root: tree,
    dispose() {
      offLog();
      offMounts();
      grafter.dispose();
      tree.markRemoved();
    },
  };
}
