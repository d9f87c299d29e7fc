// /net: one graft per imported name (a RemoteTree's root under that name) plus a `status` file
// listing each import's address, connection state and last error. Names are resolved on first
// walk; a name no resolver knows is a clean "file does not exist".
import type { Logger } from 'pino';
import { parseHostPort, NodeAlias, RemoteTree, file, SynDir, type Node, type RemoteTreeOptions } from 'cheshire/sdk';
import type { ExportResolver, ServerDef } from './resolver.ts';
import { linkSecurity, type Credentials } from './tls.ts';

interface Graft {
  name: string;
  def: ServerDef;
  tree: RemoteTree;
  node: NodeAlias;
}

export class NetDir implements Node {
  private readonly grafts = new Map<string, Graft>();
  private readonly dir: SynDir;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly resolvers: ExportResolver[],
    private readonly opts: { reconnect: { minMs: number; maxMs: number }; cache?: RemoteTreeOptions['cache']; log: Logger; credentials: () => Promise<Credentials> },
  ) {
    this.dir = new SynDir(name, [file('status', { read: () => this.statusText() })]);
  }

  get qid() { return this.dir.qid; }
  get removed() { return this.dir.removed; }
  getattr() { return this.dir.getattr(); }
  open() { return this.dir.open(); }
  list() { return this.dir.list(); }

  /** Connects a graft for `name` now (static imports are made at start). */
  async graft(name: string): Promise<Node | undefined> {
    const have = this.grafts.get(name);
    if (have) return have.node;
    for (const r of this.resolvers) {
      const def = (await r.resolve(name))[0];
      if (!def || this.closed) continue;
      if (this.grafts.has(name)) return this.grafts.get(name)!.node; // resolved meanwhile
      const { host, port } = parseHostPort(def.address);
      const tls: RemoteTreeOptions['tls'] = await linkSecurity(def, host, `/net/${name}`, this.opts.credentials);
      if (this.grafts.has(name)) return this.grafts.get(name)!.node;
      if (this.closed) return undefined;
      const tree = new RemoteTree({ host, port, version: def.version, aname: def.aname, secret: def.secret, reconnect: this.opts.reconnect, name, ...(tls ? { tls } : {}), cache: { pipeline: def.cheshire === true, ...this.opts.cache } });
      tree.events.on('state', (state, err) => this.opts.log.info(`/net/${name} (${def.address}) ${state}${err ? `: ${err.message}` : ''}`));
      tree.events.on('error', () => { /* reported through 'state' */ });
      const node = new NodeAlias(name, tree.root);
      this.grafts.set(name, { name, def, tree, node });
      this.dir.add(node);
      return node;
    }
    return undefined;
  }

  async lookup(name: string): Promise<Node | undefined> {
    return this.dir.lookup(name) ?? (await this.graft(name));
  }

  private statusText(): string {
    const lines = [...this.grafts.values()].map((g) => {
      const s = g.tree.status();
      const why = s.state !== 'connected' && s.lastError ? ` ${s.lastError}` : '';
      return `${g.name} ${g.def.address} ${s.state}${why}`;
    });
    return lines.join('\n') + (lines.length ? '\n' : '');
  }

  /** Each graft; `pipeline`: whether its lookups are pipelined (Cheshire remotes, docs/exports.md). */
  status(): Array<{ name: string; address: string; publicKey?: string; state: string; lastError?: string; pipeline: boolean }> {
    return [...this.grafts.values()].map((g) => ({ name: g.name, address: g.def.address, publicKey: g.def.publicKey, state: g.tree.status().state, lastError: g.tree.status().lastError, pipeline: g.tree.cache.pipeline }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.grafts.values()].map((g) => g.tree.close()));
    this.dir.markRemoved();
  }

  markRemoved(): void {
    this.dir.markRemoved();
  }
}
