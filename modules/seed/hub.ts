// The seed's connections: challenge, signed introduction, trust, heartbeats, subscriptions, and
// events pushed to nodes (with their acknowledgements). A node is in the directory from its
// accepted introduction until its connection closes or it misses its heartbeats.
import { setTimeout as delay } from 'node:timers/promises';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import {
  CLOSE, checkHello, newNonce, SEED_PROTOCOL,
  type ClientMessage, type Directory, type Intro, type SeedEvent, type SeedMessage,
} from './protocol.ts';
import { DirectoryState } from './directory.ts';
import { peerKey } from './tls.ts';

export interface HubOptions {
  log: Logger;
  seedKey: string;
  heartbeatMs: number;
  missedHeartbeats: number;
  maxSkewMs: number;
  helloTimeoutMs: number;
  ackWaitMs: number;
  trusted: (intro: Intro) => string | null;
}

interface Conn {
  ws: WebSocket;
  address: string;
  nonce: string;
  opened: number;
  lastSeen: number;
  intro: Intro | null;
  subscribed: boolean;
  /** The key the node proved in the TLS handshake (null: a plaintext loopback connection). */
  tlsKey: string | null;
}

export interface EventResult { node: string; ok: boolean; error?: string }

export interface EventRecord {
  seq: number;
  at: number;
  event: SeedEvent;
  sentTo: string[];
  results: EventResult[];
}

export class Hub {
  readonly directory = new DirectoryState();
  /** The last published app build (told to nodes when they join). */
  build: number | null = null;
  readonly events: EventRecord[] = [];
  private readonly conns = new Set<Conn>();
  /** Which connection holds each directory entry. */
  private readonly holders = new Map<string, Conn>();
  private readonly acks = new Map<string, (r: EventResult) => void>();
  private seq = 0;
  private lastSent = -1;
  private flushQueued = false;
  private readonly listeners = new Set<(d: Directory) => void>();

  constructor(private readonly o: HubOptions) {}

  accept(ws: WebSocket, req: IncomingMessage): void {
    const now = Date.now();
    const conn: Conn = { ws, address: req.socket.remoteAddress ?? '?', nonce: newNonce(), opened: now, lastSeen: now, intro: null, subscribed: false, tlsKey: peerKey(req.socket) };
    this.conns.add(conn);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data as Buffer, isBinary));
    ws.on('close', () => this.onClose(conn));
    ws.on('error', (err) => this.o.log.debug(`connection from ${conn.address}: ${err.message}`));
    this.send(conn, { t: 'challenge', protocol: SEED_PROTOCOL, nonce: conn.nonce, seed: this.o.seedKey });
  }

  onDirectory(fn: (d: Directory) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Drops connections that said nothing for too long (no hello, or missed heartbeats). */
  sweep(now = Date.now()): void {
    for (const c of this.conns) {
      if (!c.intro && now - c.opened > this.o.helloTimeoutMs) {
        this.refuse(c, 'CHS_ERR_SEED_PROTOCOL', `no introduction within ${this.o.helloTimeoutMs} ms`);
      } else if (c.intro && now - c.lastSeen > this.o.heartbeatMs * this.o.missedHeartbeats) {
        this.o.log.warn(`${c.intro.node} missed ${this.o.missedHeartbeats} heartbeats: dropped`);
        this.send(c, { t: 'refused', code: 'CHS_ERR_SEED_HEARTBEAT', reason: `no heartbeat for ${now - c.lastSeen} ms` });
        this.drop(c);
        c.ws.close(CLOSE.heartbeat, 'CHS_ERR_SEED_HEARTBEAT');
        c.ws.terminate();
      }
    }
  }

  /** Pushes "app build N published" to every node. */
  publish(build: number): EventRecord {
    this.build = build;
    const targets = this.introduced();
    const rec = this.record({ type: 'build', build }, targets);
    for (const c of targets) this.send(c, { t: 'event', seq: rec.seq, event: rec.event });
    return rec;
  }

  /**
   * Pushes "reload module M" to the nodes of role R (`*`: every role) that run M, and waits (up to
   * ackWaitMs) for each to answer with the outcome of its reload.
   */
  async reload(module: string, role: string): Promise<EventRecord> {
    const targets = this.introduced().filter((c) => (role === '*' || c.intro!.role === role) && c.intro!.modules.includes(module));
    const rec = this.record({ type: 'reload', module, role }, targets);
    const ac = new AbortController();
    const waits = targets.map((c) => new Promise<EventResult>((resolve) => {
      const key = `${rec.seq}\0${c.intro!.publicKey}`;
      const onClose = () => done({ node: c.intro!.node, ok: false, error: 'disconnected before answering' });
      const done = (r: EventResult) => { this.acks.delete(key); c.ws.off('close', onClose); resolve(r); };
      this.acks.set(key, done);
      c.ws.once('close', onClose);
      this.send(c, { t: 'event', seq: rec.seq, event: rec.event });
    }));
    const timeout = delay(this.o.ackWaitMs, null, { signal: ac.signal }).then(() => 'timeout' as const, () => 'cancelled' as const);
    const all = Promise.all(waits);
    const first = await Promise.race([all, timeout]);
    ac.abort();
    if (first === 'timeout' || first === 'cancelled') {
      for (const [key, done] of [...this.acks]) if (key.startsWith(`${rec.seq}\0`)) done({ node: this.nodeName(key.split('\0')[1]!), ok: false, error: `no answer within ${this.o.ackWaitMs} ms` });
    }
    rec.results = await all;
    return rec;
  }

  /** Closes every connection with "restarting" so nodes reconnect to the next version at once. */
  async close(): Promise<void> {
    const closed = [...this.conns].map((c) => new Promise<void>((resolve) => {
      if (c.ws.readyState === c.ws.CLOSED) return resolve();
      c.ws.once('close', () => resolve());
      c.ws.close(CLOSE.restart, 'seed restarting');
    }));
    await Promise.race([Promise.all(closed), delay(500)]);
    for (const c of this.conns) c.ws.terminate();
    this.listeners.clear();
  }

  private nodeName(id: string): string {
    return this.directory.get(id)?.node ?? id.slice(0, 16);
  }

  private introduced(): Conn[] {
    return [...this.conns].filter((c) => c.intro && this.holders.get(c.intro.publicKey) === c);
  }

  private record(event: SeedEvent, targets: Conn[]): EventRecord {
    const rec: EventRecord = { seq: ++this.seq, at: Date.now(), event, sentTo: targets.map((c) => c.intro!.node), results: [] };
    this.events.push(rec);
    if (this.events.length > 50) this.events.shift();
    return rec;
  }

  private send(c: Conn, msg: SeedMessage): void {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  }

  private refuse(c: Conn, code: string, reason: string): void {
    this.o.log.warn(`refused ${c.intro?.node ?? c.address}: ${code}: ${reason}`);
    this.send(c, { t: 'refused', code, reason });
    this.drop(c);
    c.ws.close(CLOSE.refused, code);
  }

  private onMessage(c: Conn, data: Buffer, isBinary: boolean): void {
    let msg: ClientMessage;
    try {
      if (isBinary) throw new Error('binary');
      msg = JSON.parse(data.toString('utf8')) as ClientMessage;
      if (!msg || typeof msg !== 'object' || typeof msg.t !== 'string') throw new Error('shape');
    } catch {
      return this.refuse(c, 'CHS_ERR_SEED_PROTOCOL', 'every message must be a JSON object with a "t" field');
    }
    c.lastSeen = Date.now();
    if (msg.t === 'hello') return this.onHello(c, msg);
    if (!c.intro) return this.refuse(c, 'CHS_ERR_SEED_PROTOCOL', `"${msg.t}" before the introduction`);
    switch (msg.t) {
      case 'ping':
        return this.send(c, { t: 'pong' });
      case 'subscribe':
        c.subscribed = true;
        return this.send(c, { t: 'directory', directory: this.directory.snapshot() });
      case 'ack': {
        const done = this.acks.get(`${msg.seq}\0${c.intro.publicKey}`);
        done?.({ node: c.intro.node, ok: msg.ok === true, ...(msg.error ? { error: String(msg.error) } : {}) });
        return;
      }
      default:
        return this.refuse(c, 'CHS_ERR_SEED_PROTOCOL', `unknown message type "${(msg as { t: string }).t}"`);
    }
  }

  private onHello(c: Conn, msg: { intro?: unknown; sig?: unknown }): void {
    const check = checkHello(msg, c.nonce, this.o.maxSkewMs);
    if (!check.ok) return this.refuse(c, check.code, check.reason);
    const intro = check.intro;
    if (c.intro && c.intro.publicKey !== intro.publicKey) return this.refuse(c, 'CHS_ERR_SEED_PROTOCOL', 'a connection cannot change its key');
    if (c.tlsKey && c.tlsKey !== intro.publicKey) {
      return this.refuse(c, 'CHS_ERR_TLS_PEER_KEY', `the introduction names key ${intro.publicKey}, the TLS certificate proved key ${c.tlsKey}`);
    }
    const distrust = this.o.trusted(intro);
    if (distrust) return this.refuse(c, 'CHS_ERR_SEED_UNTRUSTED', distrust);
    c.intro = intro;
    c.nonce = newNonce(); // the next (re-)introduction on this connection needs a fresh one
    const previous = this.holders.get(intro.publicKey);
    this.holders.set(intro.publicKey, c);
    if (previous && previous !== c) {
      this.o.log.info(`${intro.node} connected again: the older connection is replaced`);
      previous.ws.close(CLOSE.replaced, 'replaced by a newer connection');
    }
    this.directory.upsert({
      id: intro.publicKey, node: intro.node, role: intro.role, modules: intro.modules, http: intro.http,
      ninep: intro.ninep, routes: intro.routes, address: c.address, since: Date.now(), health: intro.health ?? null,
    });
    this.o.log.info(`${intro.node} (${intro.role}) joined from ${c.address}${intro.http ? `, serves ${intro.http}` : ''}`);
    this.send(c, { t: 'welcome', id: intro.publicKey, nonce: c.nonce, heartbeatMs: this.o.heartbeatMs, build: this.build });
    this.changed();
  }

  private onClose(c: Conn): void {
    this.conns.delete(c);
    if (c.intro && this.holders.get(c.intro.publicKey) === c) this.o.log.info(`${c.intro.node} left`);
    this.drop(c);
  }

  /** Takes the connection's node out of the directory (if this connection holds its entry). */
  private drop(c: Conn): void {
    const id = c.intro?.publicKey;
    if (!id || this.holders.get(id) !== c) return;
    this.holders.delete(id);
    if (this.directory.remove(id)) this.changed();
  }

  /** Pushes the directory to subscribers once per burst of changes. */
  private changed(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const d = this.directory.snapshot();
      if (d.version === this.lastSent) return;
      this.lastSent = d.version;
      const text = JSON.stringify({ t: 'directory', directory: d } satisfies SeedMessage);
      for (const c of this.conns) if (c.subscribed && c.ws.readyState === c.ws.OPEN) c.ws.send(text);
      for (const fn of this.listeners) fn(d);
    });
  }
}
