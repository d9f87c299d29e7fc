// The 9P server over TCP (node:net): one Session per connection, a connection limit, back
// pressure (reading pauses while too many requests are in flight or the socket's write buffer
// is full), and a graceful close() that answers what is outstanding, then closes the sockets.
//
// Replies produced in the same tick are written corked (one writev): with a pipelining client
// that is one syscall for many small replies. Replies a handler made synchronously while a chunk
// was being read are written as soon as the chunk is done (no microtask hop); later ones are
// batched by a microtask.
//
// Admission (admission.ts, docs/9p.md "Hostile input"): a handshake deadline, a cap per peer
// address, slots reserved for the operator (loopback), eviction of the oldest connection that has
// not finished its handshake, and reaping of idle connections that hold no fid.
//
// TLS (opts.tls, docs/tls.md): the same port takes TLS 1.3 and plaintext. The first byte read
// decides (base/tls/sniff.ts): a TLS handshake record is answered with the node's certificate,
// the client's certificate is required and its ed25519 key checked (authorize) and recorded;
// plaintext is served only to loopback peers unless tls.plaintext allows any.

import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import { FrameSplitter, MSG } from '../codec/index.ts';
import { FsError } from '../errors.ts';
import { readIntoReusedBuffer, retargetReusedRead } from '../../base/bytes/reused-read.ts';
import { tlsError } from '../../base/tls/errors.ts';
import { peerPublicKey } from '../../base/tls/pin.ts';
import { plaintextRefusal, startsTls, type PlaintextPolicy } from '../../base/tls/sniff.ts';
import { DEFAULT_MAX_MSIZE, Session } from './session.ts';
import { isLoopback, normalizeAddress, RateLimitedLog, refusalReply } from './admission.ts';
import type { SessionOptions, Transport } from './session.ts';
import { NineStats } from './stats.ts';

/** TLS on the server's port (alongside plaintext for local clients): see the top of this file. */
export interface ServerTls extends PlaintextPolicy {
  /** The node's certificate and key (PEM; Identity.tls()). */
  credentials: { key: string; cert: string };
  /**
   * Whether the client that proved `peerKey` (hex ed25519) may connect: undefined to admit, else
   * why not (it is refused with CHS_ERR_TLS_PEER_KEY and that text). Default: any key, recorded.
   */
  authorize?: (peerKey: string, address: string) => string | undefined;
}

export interface ServerOptions extends SessionOptions {
  /** TLS 1.3 on the same port; without it the server speaks plaintext only, as before. */
  tls?: ServerTls;
  /**
   * Concurrent connections (default 256). A newcomer beyond it evicts the oldest connection that
   * has not finished its handshake (a stranger only a stranger's), or is refused.
   */
  maxConnections?: number;
  /** Connections from one address (default 32); beyond, as for maxConnections but within that address. */
  maxPerAddress?: number;
  /**
   * Slots of maxConnections only operator addresses may use (default min(16, maxConnections / 8)):
   * strangers that fill theirs with finished handshakes still leave the operator room.
   */
  operatorReserve?: number;
  /** Who is the operator (default: loopback, 127.0.0.0/8 and ::1); gets the reserve. */
  isOperator?: (address: string) => boolean;
  /**
   * Time to finish the handshake (default 10000 ms): Tversion, and a successful Tattach when an
   * auth provider is configured. A connection that has not is closed.
   */
  handshakeMs?: number;
  /** A connection with no fid, nothing in flight and nothing received for this long is closed (default 600000 ms; 0 = never). */
  idleMs?: number;
  /** One line per refusal/closing reason, at most once per refusalLogIntervalMs (default 60000). */
  log?: (line: string) => void;
  refusalLogIntervalMs?: number;
  /** Requests in flight per connection before reading pauses (default 256). */
  maxInflight?: number;
  /** How long close() lets sockets drain before destroying them (default 2000 ms). */
  closeTimeoutMs?: number;
}

/**
 * Accepted sockets read into one reused buffer of this size (core/sdk/reused-read.ts) instead of a
 * fresh 64 KiB one per read: room for a whole 64 KiB-msize frame (diod's and the tools' default)
 * and what follows it. Larger frames are assembled across reads. Held per connection.
 */
const READ_BUFFER = 128 * 1024;

/**
 * Replies made while one read's frames are handled go out in batches of this many, not all at
 * the end: a pipelining client (ls -l sends ~300 requests at once) starts on the first replies
 * while we make the rest. In bench/export.ts's stat walk, where every request is now answered
 * in place, that overlap was worth ~5-10% (bench/export.md).
 */
const EARLY_FLUSH = 32;

/**
 * Reading pauses while more than this is queued for the socket (it resumes at 'drain'). Not
 * write()'s return value: that is false for any write over the stream's 16 KiB high-water mark,
 * even one the kernel took at once, so every 64 KiB Rread paused and resumed reading (two
 * epoll_ctl calls and a 'drain' tick per read: ~5% of the CPU of a diodcat).
 */
const WRITE_QUEUE_MAX = 1 << 20;

interface Conn {
  socket: Socket;
  session: Session;
  flush(): void;
  /** The peer's address (normalised) and whether it is the operator's. */
  addr: string;
  operator: boolean;
  /** When accepted, and when bytes last came in (Date.now()). */
  since: number;
  active: number;
  /** An Rattach went out since the last Rversion. */
  attached: boolean;
  /** Removed from the books (evicted, timed out, reaped or closed). */
  gone: boolean;
  /** The client's ed25519 key (hex) when it came over TLS. */
  peerKey?: string;
}

/** A connection's first read, already taken by the TLS/plaintext sniff. */
interface FirstRead { chunk: Buffer; borrowed: boolean }

/** Refused connections kept open at once to answer their Tversion with the reason; more are just closed. */
const MAX_TELLING = 16;
/** How long a refused connection may take to send its Tversion (capped by handshakeMs). */
const TELL_MS = 1000;

export class NineServer {
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  private closing: Promise<void> | undefined;
  private readonly maxConnections: number;
  private readonly maxInflight: number;
  private readonly maxPerAddress: number;
  private readonly reserve: number;
  private readonly handshakeMs: number;
  private readonly idleMs: number;
  private readonly isOperator: (address: string) => boolean;
  private readonly perAddress = new Map<string, number>();
  private strangers = 0;
  /** Refused sockets waiting for their Tversion, to answer it with the reason. */
  private readonly telling = new Set<Socket>();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly refusals: RateLimitedLog;
  /** Connections refused because of a limit (for status and tests). */
  refused = 0;
  /** Connections closed to make room for a newcomer (they had not finished their handshake). */
  evicted = 0;
  /** Connections closed because their handshake took over handshakeMs. */
  timedOut = 0;
  /** Idle connections closed. */
  reaped = 0;
  /** Requests and error answers by type, over all connections (opts.stats when given: one set for several servers). */
  readonly stats: NineStats;
  private readonly sessionOpts: SessionOptions;
  private tls: ServerTls | undefined;
  private secureContext: SecureContext | undefined;
  /** Connections whose first byte or TLS handshake has not come yet. */
  /** Connections whose first byte (TLS or 9P) has not come yet, oldest first: not booked yet. */
  private readonly sniffing = new Map<Socket, { addr: string; operator: boolean }>();
  /** Connections refused by the TLS rules (plaintext from afar, a client key not admitted, a failed handshake). */
  tlsRefused = 0;

  constructor(private readonly opts: ServerOptions) {
    this.maxConnections = opts.maxConnections ?? 256;
    this.maxInflight = opts.maxInflight ?? 256;
    this.maxPerAddress = opts.maxPerAddress ?? 32;
    this.reserve = Math.min(opts.operatorReserve ?? Math.min(16, Math.floor(this.maxConnections / 8)), this.maxConnections);
    this.handshakeMs = opts.handshakeMs ?? 10_000;
    this.idleMs = opts.idleMs ?? 600_000;
    this.isOperator = opts.isOperator ?? isLoopback;
    for (const [k, v] of Object.entries({ maxConnections: this.maxConnections, maxPerAddress: this.maxPerAddress, handshakeMs: this.handshakeMs })) {
      if (!Number.isInteger(v) || v < 1) throw new FsError('CHS_ERR_9P_ARGUMENT', `${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(this.idleMs) || this.idleMs < 0) throw new FsError('CHS_ERR_9P_ARGUMENT', `idleMs must be an integer >= 0, got ${this.idleMs}`);
    if (!Number.isInteger(this.reserve) || this.reserve < 0) throw new FsError('CHS_ERR_9P_ARGUMENT', `operatorReserve must be an integer >= 0, got ${this.reserve}`);
    this.refusals = new RateLimitedLog(opts.log, opts.refusalLogIntervalMs ?? 60_000);
    this.stats = opts.stats ?? new NineStats();
    this.sessionOpts = { ...opts, stats: this.stats };
    this.setTls(opts.tls);
    this.server = createServer((s) => { if (this.tls) this.sniff(s); else this.handle(s); });
    this.server.on('error', () => { /* reported through listen()'s promise */ });
  }

  /** Listens (port 0 picks a free one; default host 127.0.0.1) and resolves with the address. */
  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new FsError('CHS_ERR_9P_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get address(): AddressInfo | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  get connections(): number { return this.conns.size; }

  /** Connections whose reading is paused (too much queued for the socket, or too many requests in flight). */
  get pausedConnections(): number {
    let n = 0;
    for (const c of this.conns) if (c.socket.isPaused()) n++;
    return n;
  }

  /** Turns TLS on (or off, with undefined) for connections accepted from now on; the certificate and rules may change on a reload. */
  setTls(tls: ServerTls | undefined): void {
    if (tls && tls.credentials !== this.tls?.credentials) {
      this.secureContext = createSecureContext({ key: tls.credentials.key, cert: tls.credentials.cert, minVersion: 'TLSv1.3' });
    }
    this.tls = tls;
    if (!tls) this.secureContext = undefined;
  }

  /** Live connections with the client's key when it came over TLS (status, tests). */
  peers(): Array<{ address: string; key?: string }> {
    return [...this.conns].map((c) => ({ address: c.addr, ...(c.peerKey ? { key: c.peerKey } : {}) }));
  }

  /**
   * A connection to a TLS-enabled server: its first read says TLS or plaintext (base/tls/sniff.ts).
   * The read goes into the same reused buffer a plaintext connection then keeps; a TLS one is
   * given that read back (unshift) and wrapped. Sniffing and handshaking have handshakeMs.
   */
  private sniff(socket: Socket): void {
    if (this.closing) { socket.destroy(); return; }
    const addr = normalizeAddress(socket.remoteAddress);
    const operator = this.isOperator(addr);
    if (!this.makeSniffRoom(addr, operator)) {
      this.refused++;
      this.refusals.say('full', `CHS_ERR_9P_REFUSED: too many connections still handshaking (limit ${this.maxConnections})`);
      socket.destroy();
      return;
    }
    let decided = false;
    // The socket from here on: the adopted one (reads into a reused buffer) or, failing that, the accepted one.
    let s = socket;
    const settled = (): void => { clearTimeout(timer); this.sniffing.delete(s); };
    const decide = (chunk: Buffer, borrowed: boolean): boolean => {
      if (decided) return false; // never: a TLS socket reads through its own wrap from here on
      decided = true;
      s.off('close', settled);
      if (startsTls(chunk)) {
        s.unshift(borrowed ? Buffer.from(chunk) : chunk);
        this.startTls(s, addr, settled);
        return false;
      }
      settled();
      const tls = this.tls;
      const no = tls ? plaintextRefusal(addr, tls, '9P server') : undefined;
      if (no) {
        this.tlsRefused++;
        this.refusals.say('plaintext', no.message);
        this.tellAndClose(s, chunk, no.message);
        return false;
      }
      return this.serve(s, { chunk, borrowed });
    };
    const adopted = readIntoReusedBuffer(socket, READ_BUFFER, { onRead: (chunk) => decide(chunk, true) });
    if (adopted) {
      s = adopted; // the accepted wrapper is gone (destroyed without its handle)
    } else {
      const onFirst = (chunk: Buffer): void => {
        socket.off('data', onFirst);
        socket.pause();
        const tls = startsTls(chunk);
        decide(chunk, false);
        if (!tls && !socket.destroyed) socket.resume();
      };
      socket.on('data', onFirst);
    }
    // A deadline for the first byte and the TLS handshake: until then the connection is not booked
    // (admission counts it once it is served), so this is what bounds a silent one.
    this.sniffing.set(s, { addr, operator });
    const timer = setTimeout(() => {
      this.timedOut++;
      this.refusals.say('handshake', `CHS_ERR_TLS_HANDSHAKE: closed ${addr}'s connection: no ${decided ? 'TLS handshake' : 'first byte'} within ${this.handshakeMs} ms`);
      s.destroy();
    }, this.handshakeMs);
    s.once('close', settled);
    s.on('error', () => { /* 'close' follows */ });
  }

  /** The TLS side of a sniffed connection: handshake, the client's key required and authorized, then served. */
  private startTls(raw: Socket, addr: string, settled: () => void): void {
    const tls = this.tls;
    if (!tls || !this.secureContext) { settled(); raw.destroy(); return; }
    retargetReusedRead(raw, { onRead: () => false }); // the TLS wrap reads the handle from now on
    const t = new TLSSocket(raw, { isServer: true, secureContext: this.secureContext, requestCert: true, rejectUnauthorized: false });
    const refuse = (err: Error): void => {
      this.tlsRefused++;
      this.refusals.say('tls', `refused a TLS connection from ${addr}: ${err.message}`);
      t.destroy();
    };
    const onError = (err: Error): void => { settled(); if (!t.destroyed) refuse(tlsError('CHS_ERR_TLS_HANDSHAKE', `${addr}: ${err.message}`, err)); };
    t.on('error', onError);
    t.once('close', () => { settled(); raw.destroy(); });
    t.once('secure', () => {
      settled();
      const key = peerPublicKey(t);
      if (key === undefined) { refuse(tlsError('CHS_ERR_TLS_PEER_KEY', `${addr} presented no ed25519 certificate`)); return; }
      const why = tls.authorize?.(key, addr);
      if (why !== undefined) {
        // The handshake is done, so the client can be told why: its Tversion is answered with the
        // refusal (as a plaintext refusal is), then the connection closes.
        this.refuse(t, 'tls', `${addr} presented key ${key}: ${why}`, 'CHS_ERR_TLS_PEER_KEY');
        return;
      }
      this.serve(t, undefined, key);
      t.off('error', onError); // errors of a served connection are the session's ('close' follows)
    });
  }

  /** Answers a connection's first Tversion (in `chunk`) with `text` when it has one, then closes it. */
  private tellAndClose(socket: Socket, chunk: Buffer, text: string): void {
    let reply: Uint8Array | undefined;
    try {
      const frames = new FrameSplitter(8192).push(chunk);
      if (frames[0]) reply = refusalReply(frames[0], text);
    } catch { /* not a frame: just close */ }
    if (reply) { socket.end(Buffer.from(reply)); socket.destroySoon?.(); } else socket.destroy();
  }

  /** Serves an already connected socket (accepted here or handed over by another listener). */
  handle(socket: Socket): void {
    this.serve(socket);
  }

  /**
   * Serves `socket`; `first` is a read the sniff already took (on a socket it adopted, or any).
   * Returns whether a request still in flight keeps a view of that read (as onChunk).
   */
  private serve(socket: Socket, first?: FirstRead, peerKey?: string): boolean {
    if (this.closing) { socket.destroy(); return false; }
    const addr = normalizeAddress(socket.remoteAddress);
    const operator = this.isOperator(addr);
    const refusal = this.admit(addr, operator);
    if (refusal) {
      if (first) { this.refused++; this.refusals.say(refusal.reason, `refused a 9P connection: CHS_ERR_9P_REFUSED: ${refusal.text}`); this.tellAndClose(socket, first.chunk, `CHS_ERR_9P_REFUSED: ${refusal.text}`); } else this.refuse(socket, refusal.reason, refusal.text);
      return false;
    }
    const splitter = new FrameSplitter(this.opts.maxMsize ?? DEFAULT_MAX_MSIZE);
    let out: Uint8Array[] = [];
    /** Write callbacks by index in `out` (Transport.send's `sent`, for payloads a tree reuses). */
    let hooks: Map<number, () => void> | undefined;
    let scheduled = false;
    /** Inside the 'data' handler: replies made there are flushed when it returns, without a microtask. */
    let receiving = false;
    let writeBlocked = false;
    const flush = (): void => {
      scheduled = false;
      const n = out.length;
      if (n === 0) return;
      if (socket.destroyed) { out.length = 0; hooks = undefined; return; }
      if (n === 1) { // the common single reply: no batch array
        const f = out[0]!;
        out.length = 0;
        socket.write(f);
        if (socket.writableLength > WRITE_QUEUE_MAX) writeBlocked = true;
        return;
      }
      const frames = out;
      const hk = hooks;
      out = [];
      hooks = undefined;
      // cork/uncork: one syscall (writev) for the batch without copying big Rreads together.
      socket.cork();
      for (let i = 0; i < frames.length; i++) {
        const cb = hk?.get(i);
        if (cb) socket.write(frames[i]!, () => cb());
        else socket.write(frames[i]!);
      }
      socket.uncork();
      if (socket.writableLength > WRITE_QUEUE_MAX) writeBlocked = true;
    };
    const transport: Transport = {
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      send(frame, payload, sent) {
        const type = frame[4];
        if (type === MSG.Rattach) conn.attached = true;
        else if (type === MSG.Rversion) conn.attached = false;
        out.push(frame);
        if (payload) {
          out.push(payload);
          if (sent) (hooks ??= new Map()).set(out.length - 1, sent);
        }
        if (!scheduled && !receiving) { scheduled = true; queueMicrotask(flush); }
      },
      sendPieces(frame, pieces, sent) {
        out.push(frame);
        for (const p of pieces) out.push(p);
        if (sent) (hooks ??= new Map()).set(out.length - 1, sent);
        if (!scheduled && !receiving) { scheduled = true; queueMicrotask(flush); }
      },
      setMaxFrame(size) { splitter.maxSize = size; },
    };
    const session = new Session(transport, this.sessionOpts);
    const now = Date.now();
    const conn: Conn = { socket, session, flush, addr, operator, since: now, active: now, attached: false, gone: false, ...(peerKey ? { peerKey } : {}) };
    this.book(conn);

    const busy = (): boolean => writeBlocked || session.pending >= this.maxInflight;
    const maybeResume = (): void => { if (!busy() && socket.isPaused()) socket.resume(); };
    session.onSettled = maybeResume;

    /** Handles one read; true when a request still in flight keeps a view of `chunk` (borrowed). */
    const onChunk = (chunk: Buffer, borrowed: boolean): boolean => {
      conn.active = Date.now();
      let kept = false;
      let frames: Uint8Array[];
      try {
        frames = splitter.push(chunk);
        // Bytes of an incomplete frame must outlive a reused buffer.
        if (borrowed) splitter.detach(chunk.buffer);
      } catch {
        // size[4] out of range: no later byte can be trusted to start a frame.
        socket.destroy();
        return false;
      }
      receiving = true;
      try {
        for (const f of frames) {
          const before = session.pending;
          session.receive(f);
          // Only a Twrite's decoded form points into its frame (its data); every other message
          // decodes to fresh values. A Twrite answered in place is done with it; one still
          // running (an async write) keeps the view, so the next read gets a fresh buffer.
          if (borrowed && f[4] === MSG.Twrite && session.pending > before && f.buffer === chunk.buffer) kept = true;
          if (out.length >= EARLY_FLUSH) flush();
        }
      } catch (err) {
        // A bug in the session itself: this connection is in an unknown state, the others are not.
        session.fault(err, 'session');
        socket.destroy();
        return false;
      } finally {
        receiving = false;
      }
      flush();
      if (busy()) socket.pause();
      return kept;
    };
    // Sniffed first: the socket may already read into a reused buffer (then its reads come here).
    const adopted = first?.borrowed
      ? (retargetReusedRead(socket, { onRead: (chunk) => onChunk(chunk, true) }) ? socket : undefined)
      : first ? undefined : readIntoReusedBuffer(socket, READ_BUFFER, { onRead: (chunk) => onChunk(chunk, true) });
    if (adopted) {
      socket = adopted;
      conn.socket = adopted;
    } else {
      socket.on('data', (chunk: Buffer) => { onChunk(chunk, false); });
    }
    socket.setNoDelay(true);
    socket.on('drain', () => { writeBlocked = false; maybeResume(); });
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('close', () => {
      this.unbook(conn);
      void session.end();
    });
    return first ? onChunk(first.chunk, first.borrowed) : false;
  }

  // ---- admission ----

  /** Whether the connection finished its handshake: Tversion, and Tattach when auth is configured. */
  private handshaken(c: Conn): boolean {
    return c.session.negotiated && (c.attached || !this.opts.auth);
  }

  /** Admits a newcomer (evicting to make room when it may) or says why not. */
  /**
   * Room for one more connection that has not sent its first byte, by admission's rules (the
   * newcomer evicts the oldest silent one, so silent hoarders only push each other out): one
   * address holds at most maxPerAddress, strangers at most maxConnections minus the operator's
   * reserve, everyone at most maxConnections; the operator evicts a stranger first. False: refuse.
   */
  private makeSniffRoom(addr: string, operator: boolean): boolean {
    const oldest = (which: (v: { addr: string; operator: boolean }) => boolean): boolean => {
      for (const [sock, v] of this.sniffing) {
        if (!which(v)) continue;
        this.evicted++;
        this.refusals.say('evicted', `CHS_ERR_9P_REFUSED: closed ${v.addr}'s connection that had sent nothing yet to make room for a newcomer`);
        this.sniffing.delete(sock);
        sock.destroy();
        return true;
      }
      return false;
    };
    let fromAddr = 0;
    let strangers = 0;
    for (const v of this.sniffing.values()) {
      if (v.addr === addr) fromAddr++;
      if (!v.operator) strangers++;
    }
    if (fromAddr >= this.maxPerAddress && !oldest((v) => v.addr === addr)) return false;
    if (!operator && strangers >= this.maxConnections - this.reserve && !oldest((v) => !v.operator)) return false;
    if (this.sniffing.size >= this.maxConnections && !oldest((v) => !v.operator) && !(operator && oldest(() => true))) return false;
    return true;
  }

  private admit(addr: string, operator: boolean): { reason: string; text: string } | undefined {
    if ((this.perAddress.get(addr) ?? 0) >= this.maxPerAddress && !this.evict((c) => c.addr === addr)) {
      return { reason: 'per-address', text: `too many connections from ${addr} (limit ${this.maxPerAddress})` };
    }
    const full = this.conns.size >= this.maxConnections || (!operator && this.strangers >= this.maxConnections - this.reserve);
    // The operator evicts a stranger's unfinished connection first, then one of its own.
    if (full && !(operator && this.evict((c) => !c.operator)) && !this.evict((c) => operator || !c.operator)) {
      return { reason: 'full', text: `too many connections (limit ${this.maxConnections}${operator ? '' : `, ${this.reserve} reserved for the operator`})` };
    }
    return undefined;
  }

  /** Closes the oldest connection matching `which` that has not finished its handshake; false if none. */
  private evict(which: (c: Conn) => boolean): boolean {
    let oldest: Conn | undefined;
    for (const c of this.conns) { // insertion order is age order
      if (which(c) && !this.handshaken(c)) { oldest = c; break; }
    }
    if (!oldest) return false;
    this.evicted++;
    this.refusals.say('evicted', `CHS_ERR_9P_REFUSED: closed ${oldest.addr}'s connection that had not finished its handshake to make room for a newcomer`);
    this.unbook(oldest);
    oldest.socket.destroy();
    return true;
  }

  private book(c: Conn): void {
    this.conns.add(c);
    this.perAddress.set(c.addr, (this.perAddress.get(c.addr) ?? 0) + 1);
    if (!c.operator) this.strangers++;
    if (!this.sweeper) {
      const period = Math.max(20, Math.min(1000, Math.floor(Math.min(this.handshakeMs, this.idleMs || Infinity) / 4)));
      this.sweeper = setInterval(() => this.sweep(), period);
      this.sweeper.unref?.();
    }
  }

  private unbook(c: Conn): void {
    if (c.gone) return;
    c.gone = true;
    this.conns.delete(c);
    const n = (this.perAddress.get(c.addr) ?? 1) - 1;
    if (n > 0) this.perAddress.set(c.addr, n);
    else this.perAddress.delete(c.addr);
    if (!c.operator) this.strangers--;
    if (this.conns.size === 0 && this.sweeper) { clearInterval(this.sweeper); this.sweeper = undefined; }
  }

  /** Closes connections past their handshake deadline and idle ones. */
  private sweep(): void {
    if (this.closing) return;
    const now = Date.now();
    for (const c of [...this.conns]) {
      if (!this.handshaken(c)) {
        if (now - c.since >= this.handshakeMs) {
          this.timedOut++;
          this.refusals.say('handshake', `CHS_ERR_9P_REFUSED: closed ${c.addr}'s connection: no ${c.session.negotiated ? 'Tattach' : 'Tversion'} within ${this.handshakeMs} ms`);
          this.unbook(c);
          c.socket.destroy();
        }
      } else if (this.idleMs > 0 && now - c.active >= this.idleMs && c.session.fids.size === 0 && c.session.pending === 0 && c.socket.writableLength === 0) {
        this.reaped++;
        this.refusals.say('idle', `CHS_ERR_9P_REFUSED: closed ${c.addr}'s connection: no fid and nothing received for ${this.idleMs} ms`);
        this.unbook(c);
        c.socket.destroy();
      }
    }
  }

  /**
   * Refuses a connection (plaintext, or TLS after its handshake): when it sends a Tversion soon
   * (and few refused ones are waiting), it is answered with the reason (Rerror text; Rlerror
   * carries ECONNREFUSED only); otherwise closed.
   */
  private refuse(socket: Socket, reason: string, text: string, code: 'CHS_ERR_9P_REFUSED' | 'CHS_ERR_TLS_PEER_KEY' = 'CHS_ERR_9P_REFUSED'): void {
    if (code === 'CHS_ERR_9P_REFUSED') this.refused++;
    else this.tlsRefused++;
    const line = `${code}: ${text}`;
    this.refusals.say(reason, `refused a ${code === 'CHS_ERR_9P_REFUSED' ? '9P' : 'TLS'} connection: ${line}`);
    if (this.telling.size >= MAX_TELLING) { socket.destroy(); return; }
    this.telling.add(socket);
    const splitter = new FrameSplitter(8192);
    const timer = setTimeout(() => socket.destroy(), Math.min(TELL_MS, this.handshakeMs));
    socket.on('error', () => { /* 'close' follows */ });
    socket.once('close', () => { this.telling.delete(socket); clearTimeout(timer); });
    const onData = (chunk: Buffer): void => {
      let frames: Uint8Array[];
      try { frames = splitter.push(chunk); } catch { socket.destroy(); return; }
      if (frames.length === 0) return;
      socket.off('data', onData);
      const reply = refusalReply(frames[0]!, line);
      if (!reply) { socket.destroy(); return; }
      socket.end(reply);
      socket.destroySoon?.();
    };
    socket.on('data', onData);
  }

  /** Stops accepting, answers every outstanding request with an error, closes every socket. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.sweeper) { clearInterval(this.sweeper); this.sweeper = undefined; }
      for (const s of this.telling) s.destroy();
      for (const s of this.sniffing.keys()) s.destroy();
      const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
      const timeout = this.opts.closeTimeoutMs ?? 2000;
      await Promise.allSettled([...this.conns].map(async (c) => {
        await c.session.shutdown();
        c.flush();
        await new Promise<void>((resolve) => {
          if (c.socket.destroyed) { resolve(); return; }
          const timer = setTimeout(() => c.socket.destroy(), timeout);
          c.socket.once('close', () => { clearTimeout(timer); resolve(); });
          c.socket.end();
        });
      }));
      await listening;
    })();
    return this.closing;
  }
}

/** Creates a server and starts listening; resolves once it is. */
export async function listen(opts: ServerOptions & { port?: number; host?: string }): Promise<{ server: NineServer; address: AddressInfo }> {
  const server = new NineServer(opts);
  const address = await server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  return { server, address };
}
