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
import type http from 'node:http';
import type { Socket } from 'node:net';

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

export interface LaneStats { fast: number; handedOff: number; connections: number }

interface Lane {
  handler: LaneHandler;
  original: (socket: Socket) => void;
  sockets: Set<Socket>;
  stats: LaneStats;
}

const LANE = Symbol.for('cheshire.fileserver.fastLane');
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const MAX_HEAD = 16 * 1024;
/** Stop reading while this much is queued on a socket (pipelining clients). */
const MAX_QUEUED = 8 * 1024 * 1024;

type LaneServer = http.Server & { [LANE]?: Lane };

/** Installs (or re-points) the lane on `server`; returns its counters. */
export function installFastLane(server: http.Server, handler: LaneHandler): LaneStats {
  const s = server as LaneServer;
  let lane = s[LANE];
  if (!lane) {
    const listeners = server.listeners('connection') as ((socket: Socket) => void)[];
    if (listeners.length !== 1) throw new Error(`fast lane: expected node:http's one connection listener, found ${listeners.length}`);
    const created: Lane = { handler, original: listeners[0]!, sockets: new Set(), stats: { fast: 0, handedOff: 0, connections: 0 } };
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
  return lane.stats;
}

function onConnection(server: http.Server, lane: Lane, socket: Socket): void {
  lane.sockets.add(socket);
  lane.stats.connections++;
  socket.setNoDelay(true);
  socket.setTimeout(server.keepAliveTimeout || 5_000);
  let buf: Buffer | null = null;
  let busy = false;
  let gone = false;

  const onTimeout = (): void => { socket.destroy(); };
  const onError = (): void => { socket.destroy(); };
  const onClose = (): void => { gone = true; lane.sockets.delete(socket); };
  const onData = (d: Buffer): void => {
    buf = buf === null ? d : Buffer.concat([buf, d]);
    if (!busy) pump();
  };
  const onDrain = (): void => {
    busy = false;
    socket.resume();
    pump();
  };

  const toNode = (): void => {
    lane.sockets.delete(socket);
    lane.stats.handedOff++;
    socket.removeListener('data', onData);
    socket.removeListener('timeout', onTimeout);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    socket.removeListener('drain', onDrain);
    socket.setTimeout(0);
    socket.pause();
    if (buf !== null && buf.length > 0) socket.unshift(buf);
    buf = null;
    lane.original.call(server, socket);
    process.nextTick(() => socket.resume());
  };

  const pump = (): void => {
    while (buf !== null && !gone) {
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        if (buf.length > MAX_HEAD) toNode(); // node:http answers 431
        return;
      }
      const req = parseHead(buf, end);
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
          socket.resume();
          pump();
        }, (err: Error) => socket.destroy(err));
        return;
      }
      lane.stats.fast++;
      consume(end + 4);
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

  socket.on('data', onData);
  socket.on('timeout', onTimeout);
  socket.on('error', onError);
  socket.on('close', onClose);
}

/**
 * Parses a request head (bytes up to `end`, the blank line) when the lane may answer it:
 * `GET`/`HEAD`, HTTP/1.1, no body, no upgrade, no Range, no `Connection: close`. Otherwise null.
 */
export function parseHead(buf: Buffer, end: number): FastRequest | null {
  const head = buf.toString('latin1', 0, end);
  const lineEnd = head.indexOf('\r\n');
  const line = lineEnd < 0 ? head : head.slice(0, lineEnd);
  let method: 'GET' | 'HEAD';
  let rest: string;
  if (line.startsWith('GET ')) { method = 'GET'; rest = line.slice(4); }
  else if (line.startsWith('HEAD ')) { method = 'HEAD'; rest = line.slice(5); }
  else return null;
  if (!rest.endsWith(' HTTP/1.1')) return null;
  const target = rest.slice(0, -9);
  if (target.length === 0 || target.charCodeAt(0) !== 47 || target.includes(' ')) return null;
  const req: FastRequest = { method, target, host: undefined, ifNoneMatch: undefined, acceptEncoding: undefined };
  if (lineEnd < 0) return req;
  let at = lineEnd + 2;
  while (at < head.length) {
    let next = head.indexOf('\r\n', at);
    if (next < 0) next = head.length;
    const colon = head.indexOf(':', at);
    if (colon < 0 || colon > next) return null;
    const name = head.slice(at, colon).toLowerCase();
    const value = head.slice(colon + 1, next).trim();
    switch (name) {
      case 'host': if (req.host !== undefined) return null; req.host = value; break;
      case 'if-none-match': req.ifNoneMatch = value; break;
      case 'accept-encoding': req.acceptEncoding = req.acceptEncoding === undefined ? value : `${req.acceptEncoding},${value}`; break;
      case 'content-length': if (value !== '0') return null; break;
      case 'connection': if (/close|upgrade/i.test(value)) return null; break;
      case 'transfer-encoding': case 'upgrade': case 'expect': case 'range': case 'if-range':
      case 'if-match': case 'if-unmodified-since':
        return null;
      default:
        if (name.length === 0 || name.includes(' ')) return null;
    }
    at = next + 2;
  }
  return req;
}
