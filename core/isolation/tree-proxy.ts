// The host's side of ctx.mount in an isolated module: the tree lives in the isolate
// (./tree-export.ts) and the mount table gets this proxy of it. Each Node and Handle method is a
// call into the isolate ('tree' calls: no call deadline, since a stream's read may wait for
// data; a flushed 9P request aborts its call there). A node's name, qid and `removed` are as of
// the last answer that described it (every lookup, list, create and getattr does). A NineError
// thrown by the module's tree reaches the client as that error; anything else as EIO, as for any
// tree. When a proxy is collected, the isolate is told it may let go of that node (`forget`).
import { E, NineError } from '../../fs/errors.ts';
import { nextPath } from '../../fs/tree/syn-node.ts';
import type { Attr, AttrChange, CreateRequest, Handle, Node, OpenMode, StatFs } from '../../fs/tree/types.ts';
import type { HandleInfo, HostMsg, NodeInfo } from './protocol.ts';
import type { Rpc } from './rpc.ts';

/** How many NodeInfos of one node the host has seen: given back when its proxy is collected. */
interface Seen { id: number; n: number }

export interface ProxyNode extends Node {
  readonly proxyOf: TreeProxy;
  readonly id: number;
}

/** A 9P error from the isolate is answered as that error; other errors are faults (EIO). */
function translate(err: unknown): never {
  const e = err as { name?: string; errno?: unknown; message?: string };
  if (e?.name === 'NineError' && typeof e.errno === 'number') throw new NineError(e.errno, e.message ?? 'error');
  throw err;
}

export class TreeProxy {
  private readonly proxies = new Map<number, WeakRef<ProxyNode>>();
  private readonly seen = new Map<number, Seen>();
  private forgets: Array<[number, number]> = [];
  private flushing = false;
  private readonly registry = new FinalizationRegistry<Seen>((s) => this.collected(s));

  constructor(
    private readonly rpc: Rpc,
    private readonly post: (m: HostMsg) => void,
    /** The instance id, in call labels. */
    private readonly who: string,
  ) {}

  /** The isolate's qid paths -> the host's (unique in the host's process, as its own synthetic trees' are). */
  private readonly paths = new Map<bigint, bigint>();

  private qid(q: NodeInfo['qid']): NodeInfo['qid'] {
    let path = this.paths.get(q.path);
    if (path === undefined) this.paths.set(q.path, (path = nextPath()));
    return { type: q.type, version: q.version, path };
  }

  /** The proxy of the node `info` describes (the same one while it lives), updated from it. */
  node(info: NodeInfo): ProxyNode {
    info = { ...info, qid: this.qid(info.qid) };
    let s = this.seen.get(info.id);
    if (!s) this.seen.set(info.id, (s = { id: info.id, n: 0 }));
    s.n++;
    const have = this.proxies.get(info.id)?.deref();
    if (have) {
      Object.assign(have as unknown as Record<string, unknown>, { name: info.name, qid: info.qid, removed: info.removed });
      return have;
    }
    const p = this.make(info);
    this.proxies.set(info.id, new WeakRef(p));
    this.registry.register(p, s);
    return p;
  }

  private collected(s: Seen): void {
    if (this.proxies.get(s.id)?.deref()) return; // a newer proxy of the same node took over the count
    this.proxies.delete(s.id);
    this.seen.delete(s.id);
    this.forgets.push([s.id, s.n]);
    if (this.flushing) return;
    this.flushing = true;
    // Batched: a GC collects many proxies at once.
    setImmediate(() => {
      this.flushing = false;
      const ids = this.forgets;
      this.forgets = [];
      try { this.post({ t: 'forget', ids }); } catch { /* the isolate has ended */ }
    }).unref();
  }

  private call(label: string, op: string, args: unknown[], signal?: AbortSignal): Promise<unknown> {
    return this.rpc.call('tree', `${this.who}: mounted tree ${label}`, op, args, {}, signal).catch(translate);
  }

  private make(info: NodeInfo): ProxyNode {
    const id = info.id;
    const t = this;
    const label = (op: string) => `${op} (node ${id})`;
    const node: Record<string, unknown> & { name: string } = {
      proxyOf: this,
      id,
      name: info.name,
      qid: info.qid,
      removed: info.removed,
      async getattr(): Promise<Attr> {
        const r = (await t.call(label('getattr'), 'getattr', [id])) as { attr: Attr; info: NodeInfo };
        t.node(r.info);
        return r.attr;
      },
    };
    const ops: Record<string, (...a: never[]) => Promise<unknown>> = {
      setattr: (change: AttrChange) => t.call(label('setattr'), 'setattr', [id, change]),
      open: async (mode: OpenMode) => t.handle((await t.call(label('open'), 'open', [id, mode])) as HandleInfo, id),
      lookup: async (name: string) => {
        const r = (await t.call(label('lookup'), 'lookup', [id, name])) as NodeInfo | null;
        return r ? t.node(r) : undefined;
      },
      list: async () => ((await t.call(label('list'), 'list', [id])) as NodeInfo[]).map((i) => t.node(i)),
      create: async (req: CreateRequest) => t.node((await t.call(label('create'), 'create', [id, req])) as NodeInfo),
      unlink: (name: string) => t.call(label('unlink'), 'unlink', [id, name]),
      rename: (oldName: string, newDir: Node, newName: string) => t.call(label('rename'), 'rename', [id, oldName, t.idOf(newDir), newName]),
      statfs: () => t.call(label('statfs'), 'statfs', [id]) as Promise<StatFs>,
      symlink: async (name: string, target: string, owner: { nUid: number; nGid: number }) =>
        t.node((await t.call(label('symlink'), 'symlink', [id, name, target, { nUid: owner.nUid, nGid: owner.nGid }])) as NodeInfo),
      readlink: () => t.call(label('readlink'), 'readlink', [id]),
      link: (name: string, target: Node) => t.call(label('link'), 'link', [id, name, t.idOf(target)]),
    };
    for (const op of info.ops) if (ops[op]) node[op] = ops[op];
    return node as unknown as ProxyNode;
  }

  /** The isolate's number of a node of this tree (EXDEV for a node of any other tree). */
  private idOf(n: Node): number {
    const p = n as Partial<ProxyNode>;
    if (p.proxyOf !== this || typeof p.id !== 'number') throw E.crossDevice;
    return p.id;
  }

  private handle(info: HandleInfo, node: number): Handle {
    const t = this;
    const h = info.h;
    const label = (op: string) => `${op} (handle ${h} of node ${node})`;
    const out: Record<string, unknown> = { ignoresSignal: info.ignoresSignal };
    const ops: Record<string, (...a: never[]) => Promise<unknown>> = {
      read: (offset: bigint, count: number, signal: AbortSignal) => t.call(label('read'), 'read', [h, offset, count], info.ignoresSignal ? undefined : signal) as Promise<Uint8Array>,
      write: (offset: bigint, data: Uint8Array, signal: AbortSignal) => t.call(label('write'), 'write', [h, offset, data], info.ignoresSignal ? undefined : signal) as Promise<number>,
      fsync: () => t.call(label('fsync'), 'fsync', [h]) as Promise<void>,
    };
    for (const op of info.ops) if (ops[op]) out[op] = ops[op];
    // Always closed on the isolate's side (the handle is forgotten there), whether or not it has its own close.
    out.close = () => t.call(label('close'), 'close', [h]).then(() => undefined, () => undefined);
    return out as Handle;
  }
}
