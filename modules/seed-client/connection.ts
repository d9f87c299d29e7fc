// The node's connection to its seed: answer the challenge with a signed introduction, heartbeat,
// notice a silent seed, reconnect with doubling backoff (at once after a seed restart), and hand
// what the seed pushes (directory, events) to the callbacks.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import type { Identity } from 'cheshire/sdk';
import {
  CLOSE, signIntro,
  type ClientMessage, type Directory, type Intro, type SeedEvent, type SeedMessage,
} from '../seed/protocol.ts';
import { peerKey, peerKeyError } from '../seed/tls.ts';

export type IntroFields = Omit<Intro, 'protocol' | 'publicKey' | 'ts' | 'nonce'>;

export interface ConnectionOptions {
  url: string;
  identity: Identity;
  log: Logger;
  backoffMs: number;
  backoffMaxMs: number;
  /** What to say about this node (asked at every introduction, so it is current). */
  intro: () => IntroFields;
  onDirectory: (d: Directory) => void;
  /** An event; resolves with null (ack ok), an error text (ack a failure) or undefined (acked already). */
  onEvent: (seq: number, e: SeedEvent) => Promise<string | null | undefined>;
  onWelcome: (build: number | null) => void;
  /** wss: our certificate, and the key the seed must prove (else the link is dropped, CHS_ERR_TLS_PEER_KEY). */
  tls?: { key: string; cert: string; expectKey: string };
}

export class SeedConnection {
  private ws: WebSocket | null = null;
  private stopped = false;
  private backoff: number;
  private nonce: string | null = null;
  private welcomed = false;
  private wantDirectory = false;
  private heartbeat: ReturnType<typeof setInterval> | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private lastHeard = 0;
  seedKey: string | null = null;
  lastRefusal: { code: string; reason: string; at: number } | null = null;
  connectedSince: number | null = null;

  constructor(private readonly o: ConnectionOptions) {
    this.backoff = o.backoffMs;
  }

  get connected(): boolean { return this.welcomed; }

  start(): void {
    this.open();
  }

  /** Asks the seed for the directory (now and on every reconnection). */
  subscribe(): void {
    if (this.wantDirectory) return;
    this.wantDirectory = true;
    if (this.welcomed) this.send({ t: 'subscribe' });
  }

  /** Sends a fresh introduction on the open connection (e.g. the 9P address became known). */
  reintroduce(): void {
    if (this.welcomed && this.nonce) this.introduce(this.nonce);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    const ws = this.ws;
    if (!ws || ws.readyState === ws.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.close(1001, 'node stopping');
    await Promise.race([closed, delay(500)]);
    ws.terminate();
  }

  private clearTimers(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.retry) clearTimeout(this.retry);
    this.heartbeat = this.retry = null;
  }

  private open(): void {
    if (this.stopped) return;
    const tls = this.o.tls;
    const ws = new WebSocket(this.o.url, {
      handshakeTimeout: 5_000, maxPayload: 16 << 20,
      // Self-signed: no chain check; the seed's key is pinned on 'upgrade' below.
      ...(tls ? { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3' as const, rejectUnauthorized: false } : {}),
    });
    this.ws = ws;
    this.welcomed = false;
    let refusedSeed = false;
    if (tls) {
      ws.on('upgrade', (res) => {
        const got = peerKey(res.socket);
        if (got === tls.expectKey) return;
        const err = peerKeyError(`the seed ${this.o.url}`, tls.expectKey, got);
        refusedSeed = true;
        this.lastRefusal = { code: err.code, reason: err.message, at: Date.now() };
        this.o.log.error(`refused the seed: ${err.message}`);
        ws.terminate();
      });
    }
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws || isBinary) return;
      let msg: SeedMessage;
      try {
        msg = JSON.parse(String(data)) as SeedMessage;
      } catch {
        this.o.log.warn('the seed sent a message that is not JSON; reconnecting');
        ws.terminate();
        return;
      }
      this.lastHeard = Date.now();
      this.onMessage(ws, msg);
    });
    ws.on('close', (code, reason) => {
      if (this.ws !== ws) return;
      const was = this.welcomed;
      this.welcomed = false;
      this.connectedSince = null;
      if (this.heartbeat) clearInterval(this.heartbeat);
      this.heartbeat = null;
      if (this.stopped) return;
      let wait = this.backoff;
      if (refusedSeed) wait = this.o.backoffMaxMs;
      else if (code === CLOSE.restart) wait = Math.min(50, this.o.backoffMs);
      else if (code === CLOSE.refused) wait = this.o.backoffMaxMs;
      else this.backoff = Math.min(this.backoff * 2, this.o.backoffMaxMs);
      const why = `${code}${reason.length ? ` ${reason.toString()}` : ''}`;
      if (was) this.o.log.warn(`lost the seed ${this.o.url} (${why}); reconnecting in ${wait} ms`);
      else this.o.log.debug(`seed ${this.o.url} not reached (${why}); retrying in ${wait} ms`);
      this.retry = setTimeout(() => { this.retry = null; this.open(); }, wait);
    });
    ws.on('error', (err) => {
      if (this.ws === ws) this.o.log.debug(`seed connection: ${err.message}`);
    });
  }

  private send(msg: ClientMessage): void {
    const ws = this.ws;
    if (ws && ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }

  private introduce(nonce: string): void {
    this.send(signIntro(this.o.identity, { ...this.o.intro(), nonce }));
  }

  private onMessage(ws: WebSocket, msg: SeedMessage): void {
    switch (msg.t) {
      case 'challenge':
        this.seedKey = msg.seed || null;
        this.nonce = msg.nonce;
        this.introduce(msg.nonce);
        return;
      case 'welcome': {
        const first = !this.welcomed;
        this.welcomed = true;
        this.nonce = msg.nonce;
        this.backoff = this.o.backoffMs;
        this.lastRefusal = null;
        if (!first) return; // a re-introduction was accepted
        this.connectedSince = Date.now();
        this.o.log.info(`joined the seed ${this.o.url}`);
        if (this.wantDirectory) this.send({ t: 'subscribe' });
        const every = Math.max(10, msg.heartbeatMs);
        this.heartbeat = setInterval(() => {
          if (Date.now() - this.lastHeard > every * 3) {
            this.o.log.warn(`the seed ${this.o.url} has been silent for ${Date.now() - this.lastHeard} ms; reconnecting`);
            ws.terminate();
            return;
          }
          this.send({ t: 'ping' });
        }, every);
        this.o.onWelcome(msg.build);
        return;
      }
      case 'refused':
        this.lastRefusal = { code: msg.code, reason: msg.reason, at: Date.now() };
        this.o.log.error(`CHS_ERR_SEED_REFUSED: the seed ${this.o.url} refused this node: ${msg.code}: ${msg.reason}`);
        return;
      case 'pong':
        return;
      case 'directory':
        this.o.onDirectory(msg.directory);
        return;
      case 'event':
        void this.o.onEvent(msg.seq, msg.event).then(
          (error) => { if (error !== undefined) this.send({ t: 'ack', seq: msg.seq, ok: error === null, ...(error ? { error } : {}) }); },
          (err: unknown) => this.send({ t: 'ack', seq: msg.seq, ok: false, error: (err as Error).message }),
        );
        return;
      default:
        this.o.log.debug(`ignoring seed message ${(msg as { t: string }).t}`);
    }
  }

  /** Acks an event before acting on it (used when acting would stop this very connection). */
  ackNow(seq: number): void {
    this.send({ t: 'ack', seq, ok: true });
  }
}
