// The isolate's side of ctx.mount: the tree an isolated module mounts stays in the isolate (its
// files' callbacks are the module's code), and the host serves a proxy of it (./tree-proxy.ts)
// whose every operation is a call into here. Nodes and open handles are known to the host by
// number. A node keeps its number for as long as it lives; the isolate holds on to a node while
// the host may still ask about it: each NodeInfo sent counts, and the host's `forget` (sent when
// its proxy is collected) gives back the count it saw, as FUSE's lookup/forget do, so a proxy
// made from an answer still in flight never names a node already let go of.
import type { Attr, AttrChange, CreateRequest, Handle, Node, OpenMode, StatFs } from '../../fs/tree/types.ts';
import type { HandleInfo, NodeInfo } from './protocol.ts';

const NODE_OPS = ['setattr', 'open', 'lookup', 'list', 'create', 'unlink', 'rename', 'statfs', 'symlink', 'readlink', 'link'] as const;
const HANDLE_OPS = ['read', 'write', 'fsync', 'close'] as const;

/** Whether `v` looks like a tree node (what ctx.mount takes). */
export function isNode(v: unknown): v is Node {
  const n = v as Partial<Node> | null;
  return typeof n === 'object' && n !== null && typeof n.getattr === 'function' && typeof n.name === 'string' && typeof n.qid === 'object';
}

export class TreeExport {
  private nextId = 1;
  private nextHandle = 1;
  private readonly ids = new WeakMap<Node, number>();
  /** Nodes the host may ask about, with how many NodeInfos of each it was sent and has not given back. */
  private readonly nodes = new Map<number, { node: Node; sent: number }>();
  private readonly handles = new Map<number, Handle>();

  constructor(private readonly who: string) {}

  /** The node as the host's proxy sees it (counted: the host gives it back with `forget`). */
  info(node: Node): NodeInfo {
    if (!isNode(node)) throw new TypeError(`${this.who}: a mounted tree returned something that is not a node`);
    let id = this.ids.get(node);
    if (id === undefined) this.ids.set(node, (id = this.nextId++));
    const held = this.nodes.get(id);
    if (held) held.sent++;
    else this.nodes.set(id, { node, sent: 1 });
    const q = node.qid;
    const ops = NODE_OPS.filter((op) => typeof (node as unknown as Record<string, unknown>)[op] === 'function');
    return { id, name: node.name, qid: { type: q.type, version: q.version, path: q.path }, removed: Boolean(node.removed), ops };
  }

  /** The host dropped its proxies: each [id, n] gives back n NodeInfos. */
  forget(ids: ReadonlyArray<readonly [number, number]>): void {
    for (const [id, n] of ids) {
      const held = this.nodes.get(id);
      if (!held) continue;
      held.sent -= n;
      if (held.sent <= 0) this.nodes.delete(id);
    }
  }

  /** How many nodes and open handles the host can still reach (tests). */
  get size(): { nodes: number; handles: number } {
    return { nodes: this.nodes.size, handles: this.handles.size };
  }

  private node(id: unknown): Node {
    const held = this.nodes.get(Number(id));
    if (!held) throw new Error(`${this.who}: the host asked about node ${String(id)}, which it had let go of`);
    return held.node;
  }

  private handle(id: unknown): Handle {
    const h = this.handles.get(Number(id));
    if (!h) throw new Error(`${this.who}: the host asked about handle ${String(id)}, which is closed`);
    return h;
  }

  /** One operation the host's proxy asks for (`op` on the node or handle numbered args[0]). */
  async serve(op: string, args: unknown[], signal: AbortSignal | undefined): Promise<unknown> {
    const [id, a, b, c] = args;
    const sig = signal ?? new AbortController().signal;
    switch (op) {
      case 'getattr': {
        const n = this.node(id);
        const attr: Attr = await n.getattr();
        return { attr, info: this.info(n) };
      }
      case 'setattr': return this.node(id).setattr!(a as AttrChange);
      case 'open': {
        const h = await this.node(id).open!(a as OpenMode);
        const n = this.nextHandle++;
        this.handles.set(n, h);
        const info: HandleInfo = { h: n, ignoresSignal: Boolean(h.ignoresSignal), ops: HANDLE_OPS.filter((x) => typeof h[x] === 'function') };
        return info;
      }
      case 'lookup': {
        const child = await this.node(id).lookup!(a as string);
        return child ? this.info(child) : null;
      }
      case 'list': return (await this.node(id).list!()).map((n) => this.info(n));
      case 'create': return this.info(await this.node(id).create!(a as CreateRequest));
      case 'unlink': return this.node(id).unlink!(a as string);
      case 'rename': return this.node(id).rename!(a as string, this.node(b), c as string);
      case 'statfs': return (await this.node(id).statfs!()) satisfies StatFs;
      case 'symlink': return this.info(await this.node(id).symlink!(a as string, b as string, c as { nUid: number; nGid: number }));
      case 'readlink': return this.node(id).readlink!();
      case 'link': return this.node(id).link!(a as string, this.node(b));
      case 'read': {
        const h = this.handle(id);
        const data = await h.read!(a as bigint, b as number, sig);
        // The reply is a copy (it is cloned when posted): the handle's buffer goes back at once.
        const out = Uint8Array.prototype.slice.call(data);
        h.released?.(data);
        return out;
      }
      case 'write': {
        // A Buffer crosses as a Uint8Array: the handle gets a Buffer view of it again.
        const d = b as Uint8Array;
        return this.handle(id).write!(a as bigint, Buffer.from(d.buffer, d.byteOffset, d.byteLength), sig);
      }
      case 'fsync': return this.handle(id).fsync!();
      case 'close': {
        const h = this.handle(id);
        this.handles.delete(Number(id));
        return h.close?.();
      }
      default: throw new Error(`${this.who}: unknown tree operation ${op}`);
    }
  }
}
