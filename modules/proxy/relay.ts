// One client connection of the proxy: read a request head, choose the node, relay the bytes.
//
// Why a byte relay and not node:http + undici/http-proxy: on the issue's 2-core box nginx
// proxy_pass kept ~0.6x of hitting a plain Node backend directly, while off-the-shelf Node proxies
// kept 0.12x (http-proxy) to 0.20x (undici.stream). Most of their cost is per-request object
// machinery: IncomingMessage/ServerResponse, header objects, a client request object and a stream
// pipeline per hop. Here a request costs one indexOf for the blank line, one latin1 string of the
// head split into lines (hop-by-hop headers dropped, X-Forwarded-* added), one write upstream; the
// response head gets the same treatment and the bodies are forwarded as the Buffers that arrive,
// counted (Content-Length) or scanned (chunked) only to know where the message ends, with
// backpressure both ways. Upstream connections are kept alive per node (pool.ts). See
// bench/http-proxy.ts and bench/http.md for the figures this buys.
import type net from 'node:net';
import { readIntoReusedBuffer, retargetReusedRead, type ClockKind, type ConnClock, type HttpGuard, type HttpRequests } from 'cheshire/sdk';
import { ChunkedScanner } from './chunked.ts';
import { CHUNKED, HeadError, idempotent, parseRequest, parseResponse, UNTIL_CLOSE, type RequestHead } from './head.ts';
import type { ProxyErrorCode } from './errors.ts';
import type { Pool, Upstream, UpstreamOwner } from './pool.ts';
import type { Route, RouteTable, Target } from './routes.ts';

const CRLFCRLF = Buffer.from('\r\n\r\n');
/** Client reads go into a reused buffer of this size. */
const READ_BUFFER = 64 * 1024;
/** Responses up to this size that arrive in one chunk go out as one buffer (head + body). */
const SMALL_BODY = 16 * 1024;

export interface ProxyStats {
  connections: number;
  requests: number;
  retries: number;
  upgrades: number;
  byStatus: Record<string, number>;
}

export interface RelayContext {
  routes: RouteTable;
  pool: Pool;
  proto: 'http' | 'https';
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  idleTimeoutMs: number;
  failMs: number;
  maxHeadBytes: number;
  stats: ProxyStats;
  /** The listener's caps, connection clocks (head, idle, body, linger deadlines) and refusal log. */
  guard: HttpGuard<ProxyErrorCode>;
  /** The node's HTTP request counter (cheshire_http_requests_total), by route `host` + `prefix` (`none`: no route). */
  http?: HttpRequests;
}

const REASON: Record<number, string> = {
  400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported',
};

const IDLE = 0, HEAD = 1, BODY = 2, TUNNEL = 3;

export class ClientConn implements UpstreamOwner {
  private buf: Buffer | null;
  private req: RequestHead | null = null;
  private route: Route | null = null;
  private up: Upstream | null = null;
  private attempt = 0;
  private headSent = false;
  private reqLeft = 0;
  private reqChunk: ChunkedScanner | null = null;
  private reqDone = true;
  private sentBody = false;
  private resp = IDLE;
  private respBuf: Buffer | null = null;
  private respKind = 0;
  private respLeft = 0;
  private respChunk: ChunkedScanner | null = null;
  private respStarted = false;
  private upReusable = false;
  private clientKeep = true;
  private upFull = false;
  private clientFull = false;
  private clientEnded = false;
  private closed = false;
  /** Set when the proxy version that owns this connection stops: close after the current exchange. */
  private stopping = false;
  /** Our side is closed: what the client still sends is dropped. */
  private ending = false;
  /** bytesWritten when the linger deadline was last armed (a slow reader still reading gets more time). */
  private lingerMark = 0;
  private readonly clock: ConnClock;
  private readonly remote: string;

  readonly sock: net.Socket;

  /**
   * A new connection must send its first head within headTimeoutMs; one handed over between
   * requests by an earlier version waits idleTimeoutMs for its next.
   */
  constructor(sock: net.Socket, private readonly x: RelayContext, private readonly onGone: (c: ClientConn) => void, initial: Buffer | null = null) {
    // Client reads land in one reused buffer (core/sdk/reused-read.ts), as upstream reads do
    // (pool.ts); a socket handed over by the previous version keeps its buffer and reads here now.
    const reader = { onRead: (chunk: Buffer) => this.onRead(chunk) };
    const handedOver = retargetReusedRead(sock, reader);
    if (!handedOver) {
      const adopted = readIntoReusedBuffer(sock, READ_BUFFER, reader);
      if (adopted) {
        x.guard.moved(sock, adopted); // its connection slot goes with it
        sock = adopted;
      } else sock.on('data', this.onData);
    }
    this.sock = sock;
    this.buf = initial;
    this.remote = sock.remoteAddress ?? 'unknown';
    this.clock = x.guard.clocks.clock(this.onExpire);
    if (handedOver && !initial) this.clock.idle();
    else this.clock.head();
    x.stats.connections++;
    sock.setNoDelay(true);
    sock.on('drain', this.onDrain);
    sock.on('end', this.onEnd);
    sock.on('error', this.onError);
    sock.on('close', this.onClose);
    if (sock.isPaused()) sock.resume();
    if (this.buf) this.next();
  }

  /** Between exchanges with nothing buffered: can move to the next version of the proxy. */
  get idle(): boolean { return !this.req && !this.buf && !this.closed && !this.clientEnded; }

  /** Lets go of the socket (paused, listeners removed) for a newer version to adopt. */
  detach(): net.Socket {
    const s = this.sock;
    s.pause();
    s.off('data', this.onData);
    s.off('drain', this.onDrain);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    this.closed = true;
    this.clock.stop();
    this.onGone(this);
    return s;
  }

  /** Closes after the exchange in progress (or now, if idle). */
  stop(): void {
    this.stopping = true;
    this.clientKeep = false;
    if (!this.req) this.endClient();
  }

  // ---- client side ----

  /**
   * A read into the reused buffer. What would keep a view of it: the unparsed rest (a partial
   * head, body bytes before the node answers), copied out here (usually a few bytes); or a write
   * upstream still queued, which keeps the buffer (true: the next read gets a fresh one).
   */
  private onRead(chunk: Buffer): boolean {
    this.onData(chunk);
    if (this.buf && this.buf.buffer === chunk.buffer) this.buf = Buffer.from(this.buf);
    return (this.up?.sock.writableLength ?? 0) > 0;
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.resp === TUNNEL) {
      this.writeUp(chunk);
      return;
    }
    if (this.ending) return; // answered and closing: the rest is not read
    if (this.req && this.headSent && !this.reqDone) {
      const n = this.bodyBytesOrBreak(chunk);
      if (n === null) return;
      if (n > 0) {
        this.sentBody = true;
        this.writeUp(n === chunk.length ? chunk : chunk.subarray(0, n));
      }
      if (n < chunk.length) this.append(chunk.subarray(n));
      this.bodyClock();
      return;
    }
    this.append(chunk);
    if (!this.req) this.next();
    else {
      if (!this.reqDone) this.clock.body(); // body bytes before the node is connected: progress
      if (this.buf!.length > this.x.maxHeadBytes * 4) this.sock.pause(); // pipelined or early body: wait
    }
  };

  private readonly onDrain = (): void => {
    if (this.clientFull) {
      this.clientFull = false;
      this.up?.sock.resume();
    }
  };

  /** The connection's deadline passed (conn-clock.ts): what happens depends on what it waited for. */
  private readonly onExpire = (kind: ClockKind, ms: number): void => {
    if (this.closed || this.resp === TUNNEL) return;
    switch (kind) {
      case 'head': {
        if (this.req) return;
        const what = `no complete request head within ${ms} ms`;
        this.x.guard.report('head', 'CHS_ERR_PROXY_HEAD_TIMEOUT', `closed ${this.remote}'s connection: ${what}`);
        this.reject(408, what, 'CHS_ERR_PROXY_HEAD_TIMEOUT');
        return;
      }
      case 'idle':
        if (!this.req) this.sock.destroy(); // keep-alive connection unused for idleTimeoutMs
        return;
      case 'body': {
        if (!this.req || this.reqDone) return;
        // Held back by us (no node connection yet, or the node is not taking the body as fast): not the client's stall.
        if (!this.headSent || this.sock.isPaused()) { this.clock.body(); return; }
        const what = `the request body made no progress for ${ms} ms`;
        this.x.guard.report('body', 'CHS_ERR_PROXY_BODY_TIMEOUT', `closed ${this.remote}'s connection: ${what}`);
        this.fail(408, what, 'CHS_ERR_PROXY_BODY_TIMEOUT');
        return;
      }
      case 'linger':
        // Our side is closed; a client still reading the answer gets more time, one that is not, none.
        if (!this.sock.writableFinished && this.sock.bytesWritten > this.lingerMark) {
          this.lingerMark = this.sock.bytesWritten;
          this.clock.linger();
        } else this.sock.destroy();
        return;
    }
  };

  private readonly onEnd = (): void => {
    this.clientEnded = true;
    if (this.resp === TUNNEL) this.up?.sock.end();
    else if (!this.req) this.endClient();
  };

  /** Closes our side; the client has lingerMs (more while it still reads our answer) to close its own. */
  private endClient(): void {
    this.ending = true;
    this.buf = null;
    this.sock.end();
    this.lingerMark = this.sock.bytesWritten;
    this.clock.linger();
  }

  /** Body deadline while the request body is still coming, none once it is all here. */
  private bodyClock(): void {
    if (this.reqDone) this.clock.off();
    else this.clock.body();
  }

  private readonly onError = (): void => { /* 'close' follows */ };

  private readonly onClose = (): void => {
    this.closed = true;
    this.clock.stop();
    const up = this.up;
    this.up = null;
    up?.destroy();
    this.onGone(this);
  };

  private append(b: Buffer): void {
    this.buf = this.buf ? Buffer.concat([this.buf, b]) : b;
  }

  /** Starts the next request in the buffer, if its head is complete. */
  private next(): void {
    while (!this.req && this.buf && !this.closed) {
      let b = this.buf;
      let start = 0;
      while (start < b.length && (b[start] === 13 || b[start] === 10)) start++; // CRLFs between requests
      if (start) {
        b = b.subarray(start);
        this.buf = b.length ? b : null;
        if (!this.buf) return;
      }
      const end = b.indexOf(CRLFCRLF);
      if (end < 0 || end > this.x.maxHeadBytes) {
        if (end > this.x.maxHeadBytes || b.length > this.x.maxHeadBytes) this.reject(431, `request head over ${this.x.maxHeadBytes} bytes`);
        else this.clock.head(); // a head under way: its deadline runs from its first byte, whatever arrives
        return;
      }
      let req: RequestHead;
      try {
        req = parseRequest(b.toString('latin1', 0, end), this.remote, this.x.proto);
      } catch (err) {
        const message = (err as Error).message;
        this.x.guard.report('bad-request', 'CHS_ERR_PROXY_BAD_REQUEST', `refused a request from ${this.remote}: ${message}`);
        this.reject(err instanceof HeadError ? err.status : 400, message);
        return;
      }
      this.buf = end + 4 < b.length ? b.subarray(end + 4) : null;
      this.begin(req);
    }
  }

  private begin(req: RequestHead): void {
    this.x.stats.requests++;
    this.req = req;
    this.reqDone = req.body === 0;
    this.reqLeft = req.body > 0 ? req.body : 0;
    this.reqChunk = req.body === CHUNKED ? new ChunkedScanner() : null;
    this.bodyClock();
    this.sentBody = false;
    this.attempt = 0;
    this.resp = HEAD;
    this.respStarted = false;
    this.respBuf = null;
    this.upReusable = false;
    this.clientKeep = req.keepAlive && !this.stopping;
    const route = this.x.routes.match(req.hostname, req.target);
    const target = route && this.x.routes.pick(route);
    if (!route || !target) {
      const q = req.target.indexOf('?');
      const path = (q < 0 ? req.target : req.target.slice(0, q)).slice(0, 200);
      this.fail(503, `no live node serves ${req.hostname || '(no host)'}${path}`, 'CHS_ERR_PROXY_NO_ROUTE');
      return;
    }
    this.route = route;
    this.dispatch(target);
  }

  /** Bytes of `b` from `from` that belong to the request body; marks the body done at its end. */
  private bodyBytes(b: Buffer, from: number): number {
    const avail = b.length - from;
    if (this.reqChunk) {
      const end = this.reqChunk.scan(b, from);
      if (end < 0) return avail;
      this.reqDone = true;
      return end - from;
    }
    if (avail >= this.reqLeft) {
      const n = this.reqLeft;
      this.reqLeft = 0;
      this.reqDone = true;
      return n;
    }
    this.reqLeft -= avail;
    return avail;
  }

  /** bodyBytes(b, 0), or null once a malformed chunked body has broken the exchange. */
  private bodyBytesOrBreak(b: Buffer): number | null {
    try {
      return this.bodyBytes(b, 0);
    } catch (err) {
      this.broken(`malformed chunked request body: ${(err as Error).message}`);
      return null;
    }
  }

  private writeUp(data: Buffer): void {
    const up = this.up;
    if (!up) return;
    if (!up.sock.write(data) && !this.upFull) {
      this.upFull = true;
      this.sock.pause();
    }
  }

  private writeClient(data: Buffer | string): void {
    const ok = typeof data === 'string' ? this.sock.write(data, 'latin1') : this.sock.write(data);
    if (!ok && !this.clientFull) {
      this.clientFull = true;
      this.up?.sock.pause();
    }
  }

  // ---- upstream side ----

  private dispatch(target: Target): void {
    this.attempt++;
    this.headSent = false;
    const up = this.x.pool.acquire(target, this);
    this.up = up;
    if (up.connected) this.sendHead();
  }

  onUpConnect(up: Upstream): void {
    if (up === this.up) this.sendHead();
  }

  private sendHead(): void {
    const up = this.up!;
    this.headSent = true;
    const b = this.buf;
    if (this.reqDone || !b) {
      up.sock.write(this.req!.out, 'latin1');
    } else {
      const n = this.bodyBytesOrBreak(b);
      if (n === null) return;
      this.buf = n < b.length ? b.subarray(n) : null;
      up.sock.cork();
      up.sock.write(this.req!.out, 'latin1');
      if (n > 0) {
        this.sentBody = true;
        this.writeUp(n === b.length ? b : b.subarray(0, n));
      }
      up.sock.uncork();
    }
    if (!this.upFull && this.sock.isPaused() && !(this.buf && this.buf.length > this.x.maxHeadBytes * 4)) this.sock.resume();
  }

  onUpDrain(up: Upstream): void {
    if (up === this.up && this.upFull) {
      this.upFull = false;
      this.sock.resume();
    }
  }

  onUpData(up: Upstream, chunk: Buffer): void {
    if (up !== this.up) return;
    if (this.resp === BODY) {
      this.respBody(chunk, 0);
      if (this.sock.writableLength > 0) up.pin();
      return;
    }
    if (this.resp === TUNNEL) {
      this.writeClient(chunk);
      if (this.sock.writableLength > 0) up.pin();
      return;
    }
    let b = this.respBuf ? Buffer.concat([this.respBuf, chunk]) : chunk;
    this.respBuf = null;
    for (;;) {
      const end = b.indexOf(CRLFCRLF);
      if (end < 0) {
        if (b.length > this.x.maxHeadBytes * 4) this.upstreamBroke('sent a response head that is too large');
        else this.respBuf = b === chunk ? Buffer.from(b) : b; // chunk's memory is reused by the next read
        return;
      }
      const req = this.req!;
      let rh;
      try {
        rh = parseResponse(b.toString('latin1', 0, end), req.method);
      } catch (err) {
        this.upstreamBroke(`sent a malformed response (${(err as Error).message})`);
        return;
      }
      const after = end + 4;
      if (rh.status === 101 && req.upgrade) {
        this.tunnel(b);
        return;
      }
      if (rh.status < 200) { // 100 Continue, 103 Early Hints: pass on, then read the final head
        this.respStarted = true;
        this.writeClient(Buffer.from(b.subarray(0, after)));
        b = b.subarray(after);
        if (b.length === 0) return;
        continue;
      }
      this.respStarted = true;
      this.upReusable = rh.reusable;
      this.respKind = rh.body;
      this.respLeft = rh.body > 0 ? rh.body : 0;
      this.respChunk = rh.body === CHUNKED ? new ChunkedScanner() : null;
      if (rh.body === UNTIL_CLOSE) this.clientKeep = false;
      const head = rh.lines + (this.clientKeep ? (req.minor === 0 ? 'Connection: keep-alive\r\n\r\n' : '\r\n') : 'Connection: close\r\n\r\n');
      this.resp = BODY;
      this.counted(rh.status);
      if (rh.body === 0) {
        if (after < b.length) this.upReusable = false;
        this.writeClient(head);
        this.finish();
        return;
      }
      if (rh.body > 0 && after + rh.body === b.length && rh.body <= SMALL_BODY) {
        // The whole (small) response is in this chunk: one buffer, one write.
        const out = Buffer.allocUnsafe(head.length + rh.body);
        out.write(head, 0, 'latin1');
        b.copy(out, head.length, after);
        this.respLeft = 0;
        this.writeClient(out);
        this.finish();
        return;
      }
      this.sock.cork();
      this.writeClient(head);
      this.respBody(b, after);
      this.sock.uncork();
      if (this.sock.writableLength > 0) up.pin();
      return;
    }
  }

  private respBody(b: Buffer, from: number): void {
    let end: number;
    if (this.respKind === UNTIL_CLOSE) end = -1;
    else if (this.respChunk) {
      try {
        end = this.respChunk.scan(b, from);
      } catch (err) {
        this.upstreamBroke(`sent a malformed chunked body (${(err as Error).message})`);
        return;
      }
    } else {
      const avail = b.length - from;
      if (avail >= this.respLeft) {
        end = from + this.respLeft;
        this.respLeft = 0;
      } else {
        this.respLeft -= avail;
        end = -1;
      }
    }
    const stop = end < 0 ? b.length : end;
    if (stop > from) this.writeClient(from === 0 && stop === b.length ? b : b.subarray(from, stop));
    if (end >= 0) {
      if (end < b.length) this.upReusable = false; // bytes after the response: out of step
      this.finish();
    }
  }

  private tunnel(b: Buffer): void {
    const up = this.up!;
    this.x.stats.upgrades++;
    this.counted(101);
    this.resp = TUNNEL;
    this.respStarted = true;
    this.reqDone = true;
    this.clock.off();
    up.sock.setTimeout(0);
    this.writeClient(Buffer.from(b));
    const rest = this.buf;
    this.buf = null;
    if (rest) this.writeUp(rest);
    if (this.sock.isPaused() && !this.upFull) this.sock.resume();
  }

  onUpTimeout(up: Upstream): void {
    if (up !== this.up || this.resp === TUNNEL) return;
    this.up = null;
    up.destroy();
    if (!up.connected) {
      this.upFailed(up, 'connect-timeout', undefined);
    } else if (!this.respStarted) {
      this.fail(504, `node ${up.target.name} did not answer within ${this.x.responseTimeoutMs} ms`, 'CHS_ERR_PROXY_TIMEOUT');
    } else {
      this.sock.destroy(); // stalled in the middle of a response: the client must not take it as whole
    }
  }

  onUpClose(up: Upstream, err: Error | undefined): void {
    if (up !== this.up) return;
    this.up = null;
    if (this.resp === TUNNEL) {
      if (err) this.sock.destroy();
      else this.sock.end();
      return;
    }
    if (this.resp === BODY && this.respKind === UNTIL_CLOSE && !err) {
      this.finish();
      return;
    }
    if (this.respStarted) {
      this.sock.destroy(); // cut in the middle of a response
      return;
    }
    this.upFailed(up, up.connected ? 'reset' : 'connect', err);
  }

  /** The node failed before answering: retry once on another node when that is safe, else 502/504. */
  private upFailed(up: Upstream, kind: 'connect' | 'connect-timeout' | 'reset', err: Error | undefined): void {
    const t = up.target;
    const fresh = up.uses === 0;
    // A reused connection reset under us is usually a keep-alive race, not a dead node.
    if (kind !== 'reset' || fresh) t.failedUntil = Date.now() + this.x.failMs;
    const req = this.req!;
    const safe = kind === 'reset' ? idempotent(req.method) && !this.sentBody : !this.sentBody;
    if (this.attempt < 2 && safe && this.route) {
      const other = this.x.routes.pick(this.route, t);
      const next = other && other !== t ? other : kind === 'reset' && !fresh ? t : null;
      if (next) {
        this.x.stats.retries++;
        this.dispatch(next);
        return;
      }
    }
    const why = (err as NodeJS.ErrnoException | undefined)?.code ?? err?.message;
    if (kind === 'connect-timeout') this.fail(504, `node ${t.name} did not accept a connection within ${this.x.connectTimeoutMs} ms`, 'CHS_ERR_PROXY_TIMEOUT');
    else if (kind === 'connect') this.fail(502, `node ${t.name} is unreachable${why ? ` (${why})` : ''}`, 'CHS_ERR_PROXY_UPSTREAM');
    else this.fail(502, `node ${t.name} closed the connection without answering${why ? ` (${why})` : ''}`, 'CHS_ERR_PROXY_UPSTREAM');
  }

  private upstreamBroke(what: string): void {
    const up = this.up;
    this.up = null;
    up?.destroy();
    if (this.respStarted) this.sock.destroy();
    else this.fail(502, `node ${up?.target.name ?? '?'} ${what}`, 'CHS_ERR_PROXY_UPSTREAM');
  }

  /** The client's request body is malformed after its head went upstream. */
  private broken(what: string): void {
    const up = this.up;
    this.up = null;
    up?.destroy();
    this.reqDone = false;
    if (this.respStarted) this.sock.destroy();
    else this.fail(400, what, 'CHS_ERR_PROXY_BAD_REQUEST');
  }

  // ---- endings ----

  /** Counts an answer by status: the proxy's stats, and the node's metric by route. */
  private counted(status: number): void {
    this.x.stats.byStatus[status] = (this.x.stats.byStatus[status] ?? 0) + 1;
    this.x.http?.counter.inc({ route: this.route ? `${this.route.host}${this.route.prefix}` : 'none', status });
  }

  /** Answers the current request with a short error of our own. */
  private fail(status: number, message: string, code: string): void {
    if (this.respStarted) {
      this.sock.destroy();
      return;
    }
    const up = this.up;
    this.up = null;
    up?.destroy();
    this.upReusable = false;
    if (!this.reqDone) this.clientKeep = false;
    this.counted(status);
    const body = `${status} ${REASON[status] ?? 'Error'}: ${message} (${code})\n`;
    const head = `HTTP/1.1 ${status} ${REASON[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n${this.clientKeep ? '' : 'Connection: close\r\n'}\r\n`;
    this.resp = BODY;
    this.sock.write(this.req?.method === 'HEAD' ? head : head + body);
    this.finish();
  }

  /** A request head we cannot take (or that never completed): answer and close. */
  private reject(status: number, message: string, code: ProxyErrorCode = 'CHS_ERR_PROXY_BAD_REQUEST'): void {
    this.clientKeep = false;
    this.buf = null;
    this.fail(status, message, code);
  }

  private finish(): void {
    const up = this.up;
    this.up = null;
    if (up) {
      if (this.upReusable && this.reqDone && !up.dead) {
        if (up.sock.isPaused()) up.sock.resume();
        this.x.pool.release(up);
      } else up.destroy();
    }
    if (!this.reqDone) this.clientKeep = false;
    this.req = null;
    this.route = null;
    this.resp = IDLE;
    this.respStarted = false;
    this.respBuf = null;
    this.respChunk = null;
    this.reqChunk = null;
    this.upFull = false;
    this.clientFull = false;
    if (!this.clientKeep || this.stopping || this.clientEnded) {
      this.endClient();
      return;
    }
    this.clock.idle();
    if (this.sock.isPaused()) this.sock.resume();
    if (this.buf) this.next();
  }
}
