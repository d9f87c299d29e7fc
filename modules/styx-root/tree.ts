// The node's tree: /ctl, /status, /failsafe, /log, /modules/M/{ctl,status,config,override,log,deps,revisions,history,health,source}, and
// the subtrees other modules mount. Everything reads live state from ctx.host. The log files
// (log, log.follow, log.query) are in log-files.ts.
import { formatRecord, E, ctl, file, root, SynDir, type LogRecord, type HostControl, type ModuleContext, type SynStream, type Node } from 'cheshire/sdk';
import { INSTANCE_LOG_BYTES, LogQueryFile, NODE_LOG_BYTES, logStream, nodeRecords } from './log-files.ts';
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
    log.follower(),
    new LogQueryFile(host, id),
    file('deps', { read: () => depsText(status(), host.status().instances) }),
    // The latest health result as JSON (core/health): what /healthz on the dashboard serves.
    file('health', { read: () => { status(); return JSON.stringify(host.health(id)[0], null, 2) + '\n'; } }),
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

  /** The log stream of an instance, created with its recent history (earlier runs' included). */
  logOf(id: string): SynStream {
    let s = this.logs.get(id);
    if (!s) {
      s = logStream(this.host.logs(id, { limit: HISTORY_LINES }), INSTANCE_LOG_BYTES);
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
  const nodeLog = logStream(nodeRecords(host, ['host', ...host.status().instances.map((i) => i.id)], HISTORY_LINES), NODE_LOG_BYTES);
  const modules = new ModulesDir(host, ctx.id);
  const tree = root([
    ctl('ctl', (cmd) => runCommand(host, ctx.id, cmd), { read: () => 'reload M | stop M | start M | test M\n' }),
    file('status', { read: () => nodeStatusText(host.status()) }),
    file('failsafe', { read: () => { const f = host.status().failsafe; return f ? `${f.code}: ${f.message}\n\n${f.stack}\n` : ''; } }),
    nodeLog,
    nodeLog.follower(),
    modules,
  ]);
  const grafter = new MountGrafter(tree, new Set(['ctl', 'status', 'failsafe', 'log', 'log.follow', 'modules']), (m) => ctx.log.warn(m));
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
