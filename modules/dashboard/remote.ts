// Another node of the cluster, seen through its own 9P tree (the address the seed's directory
// lists): the same files the CLI reads (/status, /failsafe, /modules/M/{status,log,config,
// revisions,deps,history}) and the same ctl commands. One connection per node, opened on demand
// and closed after a minute unused; 9P2000.u, so a refused command comes back with its text.
// The link is TLS pinned to the key the node joined the seed with (docs/tls.md); plaintext only
// to a loopback address when no key is known.
import { RemoteTree, isLoopback, parseHostPort, type Handle, type Node, type RemoteTreeOptions } from 'cheshire/sdk';
import { dashboardError } from './errors.ts';

const IDLE_MS = 60_000;
const CONNECT_MS = 3_000;
/** A stream file (a log) is read until no new bytes come for this long. */
const STREAM_QUIET_MS = 250;
const READ_MAX = 1 << 20;
const MODE = { read: true, write: false, truncate: false, append: false };

/** A node of the seed's directory: its 9P address and the ed25519 key (hex) it joined with. */
export interface NodeAddress {
  address: string;
  key?: string;
}

type Credentials = NonNullable<RemoteTreeOptions['tls']>['credentials'];
const HEX64 = /^[0-9a-f]{64}$/i;

interface Held {
  tree: RemoteTree;
  used: number;
}

export class RemoteNodes {
  private readonly held = new Map<string, Held>();
  private readonly sweep: ReturnType<typeof setInterval>;

  constructor(private readonly secret: string | undefined, private readonly credentials: () => Promise<Credentials>) {
    this.sweep = setInterval(() => this.closeIdle(), IDLE_MS / 2);
  }

  private async tree(to: NodeAddress): Promise<RemoteTree> {
    const { address } = to;
    const h = this.held.get(address);
    if (h && h.tree.state === 'connected') {
      h.used = Date.now();
      return h.tree;
    }
    if (h) {
      this.held.delete(address);
      await h.tree.close();
    }
    let hp: { host: string; port: number };
    try {
      hp = parseHostPort(address);
    } catch (err) {
      throw dashboardError('CHS_ERR_DASHBOARD_REMOTE', `"${address}" is not a 9P HOST:PORT`, err);
    }
    let tls: RemoteTreeOptions['tls'];
    if (to.key !== undefined && HEX64.test(to.key)) tls = { credentials: await this.credentials(), expectKey: to.key.toLowerCase() };
    else if (!isLoopback(hp.host) && hp.host !== 'localhost') {
      throw dashboardError('CHS_ERR_DASHBOARD_REMOTE', `${address}: no node key to pin, and plaintext 9P to another machine is not sent`);
    }
    try {
      const tree = await RemoteTree.connect({
        host: hp.host, port: hp.port, version: '9P2000.u', uname: 'dashboard', timeoutMs: CONNECT_MS, reconnect: false,
        ...(this.secret ? { secret: this.secret } : {}), ...(tls ? { tls } : {}),
      });
      this.held.set(address, { tree, used: Date.now() });
      return tree;
    } catch (err) {
      throw dashboardError('CHS_ERR_DASHBOARD_REMOTE', `cannot reach the 9P tree at ${address}: ${(err as Error).message}`, err);
    }
  }

  private async walk(to: NodeAddress, path: string): Promise<Node> {
    const { address } = to;
    let node: Node | undefined = (await this.tree(to)).root;
    for (const name of path.split('/').filter(Boolean)) {
      node = await node.lookup?.(name);
      if (!node) throw dashboardError('CHS_ERR_DASHBOARD_REMOTE', `${address}: no file ${path}`);
    }
    return node;
  }

  /** A file's text; a stream (log) up to the point where it stops giving bytes. */
  async read(to: NodeAddress, path: string, opts: { stream?: boolean } = {}): Promise<string> {
    const { address } = to;
    const node = await this.walk(to, path);
    const handle = await this.open(node, MODE, address, path);
    try {
      return await readAll(handle, !!opts.stream);
    } finally {
      await handle.close?.();
    }
  }

  /** Writes a command to a ctl file and returns its answer. */
  async command(to: NodeAddress, path: string, command: string): Promise<string> {
    const { address } = to;
    const node = await this.walk(to, path);
    const handle = await this.open(node, { ...MODE, write: true }, address, path);
    try {
      const data = Buffer.from(command.endsWith('\n') ? command : `${command}\n`);
      await handle.write!(0n, data, new AbortController().signal);
      return await readAll(handle, false);
    } catch (err) {
      throw dashboardError('CHS_ERR_DASHBOARD_REMOTE', `${address}${path}: ${(err as Error).message}`, err);
    } finally {
      await handle.close?.();
    }
  }

  private async open(node: Node, mode: typeof MODE, address: string, path: string): Promise<Handle> {
    if (!node.open) throw dashboardError('CHS_ERR_DASHBOARD_REMOTE', `${address}: ${path} cannot be opened`);
    return node.open(mode);
  }

  private closeIdle(): void {
    const now = Date.now();
    for (const [address, h] of this.held) {
      if (now - h.used < IDLE_MS) continue;
      this.held.delete(address);
      void h.tree.close();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    const trees = [...this.held.values()].map((h) => h.tree);
    this.held.clear();
    await Promise.allSettled(trees.map((t) => t.close()));
  }
}

async function readAll(handle: Handle, stream: boolean): Promise<string> {
  const parts: Buffer[] = [];
  let offset = 0n;
  let size = 0;
  for (;;) {
    const ac = new AbortController();
    const timer = stream ? setTimeout(() => ac.abort(), STREAM_QUIET_MS) : null;
    let chunk: Uint8Array;
    try {
      chunk = await handle.read!(offset, 64 * 1024, ac.signal);
    } catch (err) {
      if (ac.signal.aborted) break; // the stream has nothing more for now
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (chunk.length === 0) break;
    parts.push(Buffer.from(chunk));
    offset += BigInt(chunk.length);
    size += chunk.length;
    if (size >= READ_MAX) break;
  }
  return Buffer.concat(parts).toString('utf8');
}
