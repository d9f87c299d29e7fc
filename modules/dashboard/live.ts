// The page's live feed over WebSocket: a snapshot when a page connects, then what changed,
// coalesced (status, timeline and log events arrive in bursts: one message per `coalesceMs`),
// and the log tail of the one instance each page follows. A page that cannot keep up is cut off;
// it reconnects and gets a fresh snapshot, as after the dashboard's own reload.
import { setTimeout as sleep } from 'node:timers/promises';
import type { HostControl, LogRecord } from 'cheshire/sdk';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { ClientMessage, LogView, ServerMessage } from './protocol.ts';
import type { StateTracker } from './state.ts';
import { logView } from './view.ts';

export interface LiveOptions {
  host: HostControl;
  state: StateTracker;
  log: Logger;
  coalesceMs: number;
  logTail: number;
  maxClients: number;
  /** The page bundle's hash now. */
  client: () => string;
  auth: boolean;
}

interface Peer {
  ws: WebSocket;
  logsFor: string | null;
  pending: LogView[];
}

/** Past this many unsent bytes a page is cut off (it reconnects and resyncs). */
const MAX_BUFFERED = 8 << 20;
/** Log records held for one page between two flushes. */
const MAX_PENDING_LOGS = 1000;
/** The node header's figures (memory, loop delay) and health move without events: look again this often. */
const TICK_MS = 2000;
const CLOSE_WAIT_MS = 500;
/** The delay of the first update after a quiet spell. */
const LEADING_MS = 5;

export class Live {
  private readonly peers = new Set<Peer>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private tick: ReturnType<typeof setTimeout> | null = null;
  /** What the last update cost the node (a status read and a diff of every instance), ms. */
  private cost = 0;
  private readonly unsubscribe: Array<() => void> = [];
  private lastFault = '';
  private lastFlush = -Infinity;
  private closed = false;

  constructor(private readonly o: LiveOptions) {
    const changed = () => this.schedule();
    this.unsubscribe.push(o.host.onStatus(changed), o.host.onReload(changed), o.host.onLog((r) => this.onLog(r)));
    this.armTick();
  }

  /** The periodic look (TICK_MS, longer when an update is costly: at most ~5% of the loop). */
  private armTick(): void {
    this.tick = setTimeout(() => {
      this.schedule();
      this.armTick();
    }, Math.max(TICK_MS, this.cost * 20));
  }

  get size(): number {
    return this.peers.size;
  }

  /** A page connected: it gets the snapshot at once. */
  accept(ws: WebSocket): void {
    if (this.closed || this.peers.size >= this.o.maxClients) {
      ws.close(1013, 'too many dashboard pages open');
      return;
    }
    const peer: Peer = { ws, logsFor: null, pending: [] };
    this.peers.add(peer);
    ws.on('close', () => {
      this.peers.delete(peer);
      if (this.peers.size === 0) this.o.state.reset();
    });
    ws.on('error', () => ws.terminate());
    ws.on('message', (data, isBinary) => this.onMessage(peer, isBinary ? null : data.toString()));
    this.send(peer, this.o.state.snapshot(this.o.client(), this.o.auth));
  }

  /** The page bundle changed (a client file was saved): pages load the new one. */
  clientChanged(hash: string): void {
    for (const p of this.peers) this.send(p, { t: 'client', client: hash });
  }

  /**
   * At most one update per window: the first change after a quiet spell goes out after
   * LEADING_MS (enough to gather the events of one reload), later ones wait for the window to
   * pass. The window is `coalesceMs`, or four times what the last update cost the node if that is
   * longer (host.status() of 1,000 instances takes tens of ms): a storm of events costs the node
   * at most ~20% of its event loop.
   */
  schedule(): void {
    if (this.closed || this.timer || this.peers.size === 0) return;
    const window = Math.max(this.o.coalesceMs, this.cost * 4);
    const since = performance.now() - this.lastFlush;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.lastFlush = performance.now();
      this.flush();
    }, since >= window ? LEADING_MS : window - since);
  }

  private onLog(r: LogRecord): void {
    let wanted = false;
    for (const p of this.peers) {
      if (p.logsFor !== r.module) continue;
      p.pending.push(logView(r));
      if (p.pending.length > MAX_PENDING_LOGS) p.pending.splice(0, p.pending.length - MAX_PENDING_LOGS);
      wanted = true;
    }
    if (wanted) this.schedule();
  }

  private onMessage(peer: Peer, text: string | null): void {
    let msg: ClientMessage | null = null;
    try {
      msg = text ? (JSON.parse(text) as ClientMessage) : null;
    } catch { /* answered below */ }
    if (!msg || msg.t !== 'logs' || (msg.id !== null && (typeof msg.id !== 'string' || msg.id.length > 256))) {
      peer.ws.close(1003, 'unknown message');
      return;
    }
    peer.logsFor = msg.id;
    peer.pending = [];
    if (msg.id !== null) {
      const records = this.o.host.logs(msg.id).slice(-this.o.logTail).map(logView);
      this.send(peer, { t: 'logs', id: msg.id, reset: true, records });
    }
  }

  private flush(): void {
    try {
      const started = performance.now();
      const delta = this.o.state.delta();
      this.cost = performance.now() - started;
      const text = delta ? JSON.stringify(delta) : null;
      for (const p of this.peers) {
        if (text) this.sendText(p, text);
        if (p.logsFor !== null && p.pending.length) {
          const records = p.pending;
          p.pending = [];
          this.send(p, { t: 'logs', id: p.logsFor, reset: false, records });
        }
      }
    } catch (err) {
      // Logged once per distinct fault: the log record would schedule another flush.
      const text = (err as Error).message;
      if (text !== this.lastFault) this.o.log.error({ err }, `dashboard update failed: ${text}`);
      this.lastFault = text;
    }
  }

  private send(p: Peer, msg: ServerMessage): void {
    this.sendText(p, JSON.stringify(msg));
  }

  private sendText(p: Peer, text: string): void {
    if (p.ws.readyState !== p.ws.OPEN) return;
    if (p.ws.bufferedAmount > MAX_BUFFERED) {
      p.ws.terminate();
      return;
    }
    p.ws.send(text);
  }

  /**
   * Stops listening to the host and closes every page's socket (1012: they reconnect at once); a
   * page that does not answer the close within CLOSE_WAIT_MS is cut off.
   */
  async close(code = 1012, reason = 'dashboard restarting'): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.tick) clearTimeout(this.tick);
    if (this.timer) clearTimeout(this.timer);
    const sockets = [...this.peers].map((p) => p.ws);
    this.peers.clear();
    const closed = sockets.map((ws) => new Promise<void>((r) => {
      if (ws.readyState === ws.CLOSED) r();
      else ws.once('close', () => r());
    }));
    for (const ws of sockets) ws.close(code, reason);
    await Promise.race([Promise.all(closed), sleep(CLOSE_WAIT_MS)]);
    for (const ws of sockets) if (ws.readyState !== ws.CLOSED) ws.terminate();
  }
}
