// The fast lane: node:http costs ~50 µs of parsing and object churn per request, about half of
// what a 1 KiB file takes nginx. So the fileserver sits in front of the http.Server it gets from
// serveHttp: each new connection starts in the lane, which finds complete request heads in the
// bytes as they arrive, and answers plain GET/HEAD requests for in-memory entries itself with
// pre-built bytes (one write). The first request it does not take (a POST, a Range, an upgrade,
// an error, a file that must be streamed, HTTP/1.0, `Connection: close`...) hands the
// connection, with the unread bytes put back, to node:http's own connection listener, where it
// stays. The lane is installed once per server and survives reloads: sockets call
// `lane.handler`, which each new version replaces, so a reload swaps the code without touching
// a connection.
//
// Every connection is admitted here (the listener's HttpGuard: caps per address and in all) and
// keeps a deadline while in the lane: its first head within headTimeoutMs of connecting, each
// later one within headTimeoutMs of its first byte (408), idleTimeoutMs between requests. The
// lane refuses with 400 what node:http would take leniently or differently: NUL or a bare CR/LF
// in the head, a request line without a version (HTTP/0.9 style), a second Host.
import type http from 'node:http';
import type { Socket } from 'node:net';
import { answerAndClose, hasBareCrLfOrNul, type ClockKind, type HttpGuard } from 'cheshire/sdk';
import type { FileserverErrorCode } from './errors.ts';

export interface FastRequest {
  method: 'GET' | 'HEAD';
  target: string;
  host: string | undefined;
  ifNoneMatch: string | undefined;
  acceptEncoding: string | undefined;
}

export interface LaneHandler {
  /** true: answered on the socket; false: let node:http answer it; a promise: wait for that. */
  serve(req: FastRequest, socket: Socket): boolean | Promise<boolean>;
}

export interface LaneStats { fast: number; handedOff: number; connections: number; refused: number; timedOut: number }

/** A head the lane refuses (400) instead of passing it on. */
export class BadHead {
  constructor(readonly reason: string) {}
}

interface Lane {
  handler: LaneHandler;
  guard: HttpGuard<FileserverErrorCode>;
  original: (socket: Socket) => void;
  sockets: Set<Socket>;
  stats: LaneStats;
}

const LANE = Symbol.for('cheshire.fileserver.fastLane');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const MAX_HEAD = 16 * 1024;
/** Stop reading while this much is queued on a socket (pipelining clients). */
const MAX_QUEUED = 8 * 1024 * 1024;

type LaneServer = http.Server & { [LANE]?: Lane };

/** Installs (or re-points) the lane on `server`, with this version's handler and guard; returns its counters. */
export function installFastLane(server: http.Server, handler: LaneHandler, guard: HttpGuard<FileserverErrorCode>): LaneStats {
  const s = server as LaneServer;
  let lane = s[LANE];
  if (!lane) {
    const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
    if (listeners.length !== 1) throw new Error(`fast lane: expected node:http's one connection listener, found ${listeners.length}`);
    const created: Lane = {
      handler, guard, original: listeners[0]!, sockets: new Set(), stats: { fast: 0, handedOff: 0, connections: 0, refused: 0, timedOut: 0 },
    };
    lane = created;
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => onConnection(server, created, socket));
    // serveHttp's closeServer calls closeIdleConnections(): lane sockets are idle between requests.
    const closeIdle = server.closeIdleConnections.bind(server);
    server.closeIdleConnections = () => {
      closeIdle();
      for (const sock of created.sockets) sock.destroySoon();
    };
    const closeAll = server.closeAllConnections.bind(server);
    server.closeAllConnections = () => {
      closeAll();
      for (const sock of created.sockets) sock.destroy();
    };
    s[LANE] = created;
  }
  lane.handler = handler;
  lane.guard = guard;
  return lane.stats;
}

function onConnection(server: http.Server, lane: Lane, socket: Socket): void {
  if (!lane.guard.admit(socket)) return; // answered 429/503 and closed
  lane.sockets.add(socket);
  lane.stats.connections++;
  socket.setNoDelay(true);
  let buf: Buffer | null = null;
  let busy = false;
  let gone = false;
  /** The client closed its side (node:http's server is half-open: nothing closes ours for us). */
  let ended = false;
  /** The request line of the head under way was checked (HTTP/0.9 style refused before the head ends). */
  let lineChecked = false;

  const onExpire = (kind: ClockKind, ms: number): void => {
    if (gone) return;
    if (kind !== 'head') { socket.destroy(); return; } // idle between requests
    lane.stats.timedOut++;
    refuse(408, `no complete request head within ${ms} ms`, 'CHS_ERR_FILESERVER_HEAD_TIMEOUT', 'head');
  };
  const clock = lane.guard.clocks.clock(onExpire);
  clock.head();

  const onError = (): void => { socket.destroy(); };
  const onEnd = (): void => {
    ended = true;
    if (!busy) pump();
  };
  const onClose = (): void => { gone = true; clock.stop(); lane.sockets.delete(socket); };
  const onData = (d: Buffer): void => {
    buf = buf === null ? d : Buffer.concat([buf, d]);
    if (!busy) pump();
  };

  const detach = (): void => {
    lane.sockets.delete(socket);
    clock.stop();
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    socket.removeListener('drain', onDrain);
    socket.removeListener('end', onEnd);
    buf = null;
  };

  /** Answers `status` with `Connection: close` and lets the connection go; logs why (rate-limited). */
  const refuse = (status: number, why: string, code: FileserverErrorCode, reason: string): void => {
    lane.stats.refused++;
    lane.guard.report(reason, code, `${status === 408 ? 'closed' : 'refused a request on'} ${socket.remoteAddress ?? '?'}'s connection: ${why}`);
    gone = true;
    detach();
    answerAndClose(socket, status, `${why} (${code})`, lane.guard.limits.lingerMs);
  };
  const onDrain = (): void => {
    busy = false;
    socket.resume();
    pump();
  };

  // node:http keeps the connection from here; its headersTimeout / keepAliveTimeout (set from the
  // same config in limits.ts) take over the deadlines.
  const toNode = (): void => {
    lane.stats.handedOff++;
    const rest = buf;
    detach();
    socket.pause();
    if (rest !== null && rest.length > 0) socket.unshift(rest);
    lane.original.call(server, socket);
    process.nextTick(() => socket.resume());
  };

  const pump = (): void => {
    serveBuffered();
    // The client sent its last bytes: once what it asked for is answered, close ours (after the flush).
    if (ended && !busy && !gone) {
      gone = true;
      detach();
      socket.destroySoon();
    }
  };

  const serveBuffered = (): void => {
    while (buf !== null && !gone) {
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        if (buf.length > MAX_HEAD) { toNode(); return; } // node:http answers 431
        clock.head(); // from the head's first byte; later bytes do not move it
        if (!lineChecked) {
          const eol = buf.indexOf(CRLF);
          if (eol >= 0) {
            lineChecked = true;
            const bad = versionless(buf.toString('latin1', 0, eol));
            if (bad) { refuse(400, bad.reason, 'CHS_ERR_FILESERVER_BAD_REQUEST', 'bad-request'); return; }
          }
        }
        return;
      }
      lineChecked = false;
      const req = parseHead(buf, end);
      if (req instanceof BadHead) { refuse(400, req.reason, 'CHS_ERR_FILESERVER_BAD_REQUEST', 'bad-request'); return; }
      if (!req) { toNode(); return; }
      const r = lane.handler.serve(req, socket);
      if (r === false) { toNode(); return; }
      if (r !== true) {
        busy = true;
        socket.pause();
        r.then((ok) => {
          busy = false;
          if (gone) return;
          if (!ok) { toNode(); return; }
          lane.stats.fast++;
          consume(end + 4);
          idleOrHead();
          socket.resume();
          pump();
        }, (err: Error) => socket.destroy(err));
        return;
      }
      lane.stats.fast++;
      consume(end + 4);
      idleOrHead();
      if (socket.writableLength > MAX_QUEUED) {
        busy = true;
        socket.pause();
        socket.once('drain', onDrain);
        return;
      }
    }
  };

  const consume = (n: number): void => {
    if (buf === null) return;
    buf = n >= buf.length ? null : buf.subarray(n);
  };

  /** A request was answered: wait idleTimeoutMs for the next, or start the head deadline of one that began. */
  const idleOrHead = (): void => {
    clock.idle();
    if (buf !== null) clock.head();
  };

  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('end', onEnd);
  socket.on('close', onClose);
}

/** A request line with no HTTP version (`GET /`, HTTP/0.9 style): refused, never guessed at. */
export function versionless(line: string): BadHead | null {
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  if (sp1 > 0 && sp2 > sp1 && line.startsWith('HTTP/', sp2 + 1)) return null;
  return new BadHead('request line without an HTTP version (HTTP/0.9 style)');
}

/**
 * Parses a request head (bytes up to `end`, the blank line) when the lane may answer it:
 * `GET`/`HEAD`, HTTP/1.1, no body, no upgrade, no Range, no `Connection: close`. Otherwise null
 * (node:http answers it), or a BadHead the lane refuses with 400: NUL or a bare CR/LF anywhere,
 * a request line without a version, a second Host (node:http would keep the first).
 */
export function parseHead(buf: Buffer, end: number): FastRequest | BadHead | null {
  const head = buf.toString('latin1', 0, end);
  if (hasBareCrLfOrNul(head)) return new BadHead('bare CR, bare LF or NUL in the request head');
  const lineEnd = head.indexOf('\r\n');
  const line = lineEnd < 0 ? head : head.slice(0, lineEnd);
  let method: 'GET' | 'HEAD' | null = null;
  let rest = '';
  if (line.startsWith('GET ')) { method = 'GET'; rest = line.slice(4); }
  else if (line.startsWith('HEAD ')) { method = 'HEAD'; rest = line.slice(5); }
  let pass = method === null; // node:http answers it, once the head is known to have no second Host
  if (!pass && !rest.endsWith(' HTTP/1.1')) pass = true;
  if (pass) {
    const bad = versionless(line);
    if (bad) return bad;
  }
  const target = rest.slice(0, -9);
  if (!pass && (target.length === 0 || target.charCodeAt(0) !== 47 || target.includes(' '))) pass = true;
  const req: FastRequest = { method: method ?? 'GET', target, host: undefined, ifNoneMatch: undefined, acceptEncoding: undefined };
  if (lineEnd < 0) return pass ? null : req;
  let at = lineEnd + 2;
  while (at < head.length) {
    let next = head.indexOf('\r\n', at);
    if (next < 0) next = head.length;
    const colon = head.indexOf(':', at);
    if (colon < 0 || colon > next) return null; // node:http answers 400
    const name = head.slice(at, colon).toLowerCase();
    const value = head.slice(colon + 1, next).trim();
    switch (name) {
      case 'host': if (req.host !== undefined) return new BadHead('more than one Host header'); req.host = value; break;
      case 'if-none-match': req.ifNoneMatch = value; break;
      case 'accept-encoding': req.acceptEncoding = req.acceptEncoding === undefined ? value : `${req.acceptEncoding},${value}`; break;
      case 'content-length': if (value !== '0') pass = true; break;
      case 'connection': if (/close|upgrade/i.test(value)) pass = true; break;
      case 'transfer-encoding': case 'upgrade': case 'expect': case 'range': case 'if-range':
      case 'if-match': case 'if-unmodified-since':
        pass = true;
        break;
      default:
        if (name.length === 0 || name.includes(' ')) pass = true;
    }
    at = next + 2;
  }
  return pass ? null : req;
}
