// Keep-alive connections to the nodes: one Upstream per TCP connection, its listeners attached
// once and dispatching to whichever client connection owns it at the moment. Idle ones are kept
// per node (most recently used first) and dropped before the node's own keep-alive timeout would
// close them under us (upstreamIdleMs, default 4 s < Node's 5 s).
import net from 'node:net';
import { reusedOnread } from 'cheshire/sdk';
import type { Target } from './routes.ts';

const READ_BUFFER = 64 * 1024;

export interface UpstreamOwner {
  onUpConnect(up: Upstream): void;
  /** `chunk` lives in a reused buffer: copy what is kept past the call, or pin() it. */
  onUpData(up: Upstream, chunk: Buffer): void;
  onUpDrain(up: Upstream): void;
  onUpTimeout(up: Upstream): void;
  onUpClose(up: Upstream, err: Error | undefined): void;
}

export class Upstream {
  readonly sock: net.Socket;
  owner: UpstreamOwner | null = null;
  connected = false;
  dead = false;
  /** Exchanges completed on this connection (0: fresh). */
  uses = 0;
  idleSince = 0;
  private error: Error | undefined;

  /** Set by pin() during onUpData: a queued write still points into the read buffer. */
  private pinned = false;

  constructor(readonly target: Target, private readonly pool: Pool, timeouts: { connectMs: number; responseMs: number }) {
    // Reads go through `onread` into one reused buffer, skipping a Buffer and the Readable
    // stream's bookkeeping per read; owners copy what they keep or call pin() (see relay.ts).
    const sock = net.connect({
      host: target.host, port: target.port, noDelay: true,
      onread: reusedOnread(READ_BUFFER, (chunk) => {
        if (this.owner) this.owner.onUpData(this, chunk);
        else this.destroy(); // bytes nobody asked for: the connection is out of step
        const kept = this.pinned;
        this.pinned = false;
        return kept;
      }),
    });
    this.sock = sock;
    // One idle timer per connection, set twice: connecting, then waiting on (or between) answers.
    sock.setTimeout(timeouts.connectMs);
    sock.on('connect', () => {
      this.connected = true;
      sock.setTimeout(timeouts.responseMs);
      this.owner?.onUpConnect(this);
    });
    sock.on('drain', () => this.owner?.onUpDrain(this));
    sock.on('timeout', () => {
      if (this.owner) this.owner.onUpTimeout(this);
      else this.destroy();
    });
    sock.on('error', (err) => { this.error = err; });
    sock.on('close', () => {
      this.dead = true;
      this.pool.forget(this);
      const o = this.owner;
      this.owner = null;
      o?.onUpClose(this, this.error);
    });
  }

  /** The last chunk handed to onUpData is still referenced (a queued write): read into a new buffer. */
  pin(): void {
    this.pinned = true;
  }

  destroy(): void {
    this.owner = null;
    this.dead = true;
    this.sock.destroy();
  }
}

export interface PoolOptions {
  /** Idle connections older than this are not reused (below the nodes' own keep-alive timeout). */
  idleMs: number;
  maxIdlePerNode: number;
  connectTimeoutMs: number;
  /** Idle time allowed while waiting for (or between parts of) an answer. */
  responseTimeoutMs: number;
}

export class Pool {
  private readonly idle = new Map<string, Upstream[]>();
  private closed = false;

  constructor(private readonly o: PoolOptions) {}

  /** An idle connection to `target`, or a new one (connecting). */
  acquire(target: Target, owner: UpstreamOwner): Upstream {
    const list = this.idle.get(target.key);
    if (list) {
      const now = Date.now();
      while (list.length) {
        const up = list.pop()!;
        if (up.dead) continue;
        if (now - up.idleSince > this.o.idleMs) { up.destroy(); continue; }
        up.owner = owner;
        return up;
      }
    }
    const up = new Upstream(target, this, { connectMs: this.o.connectTimeoutMs, responseMs: this.o.responseTimeoutMs });
    up.owner = owner;
    return up;
  }

  /** Takes back a connection whose exchange ended cleanly. */
  release(up: Upstream): void {
    up.owner = null;
    up.uses++;
    if (up.dead || this.closed) return up.destroy();
    let list = this.idle.get(up.target.key);
    if (!list) this.idle.set(up.target.key, (list = []));
    if (list.length >= this.o.maxIdlePerNode) return up.destroy();
    up.idleSince = Date.now(); // older than idleMs: dropped at the next acquire (or by the node)
    list.push(up);
  }

  forget(up: Upstream): void {
    const list = this.idle.get(up.target.key);
    if (!list) return;
    const i = list.indexOf(up);
    if (i >= 0) list.splice(i, 1);
  }

  idleCount(): number {
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const up of list.splice(0)) up.destroy();
    this.idle.clear();
  }
}
