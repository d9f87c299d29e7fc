// The two ways a request is answered: `fastHandler` for the fast lane (plain GET/HEAD of an
// in-memory entry, written as pre-built bytes, resolved targets memoized by Host + target), and
// `nodeHandler` for node:http (everything else: uploads, ranges, streamed files, errors), plus
// the WebSocket upgrade for upload progress.
import type { ChunkPool } from 'cheshire/sdk';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { dateTail, inMemory, wholeResponse, WHOLE_MAX, type Entry } from './entry.ts';
import type { FastRequest, LaneHandler } from './fastlane.ts';
import { noneMatch } from './negotiate.ts';
import { splitTarget } from './paths.ts';
import type { Progress } from './progress.ts';
import { pickVariant, sendEntry, sendText } from './respond.ts';
import { isMiss, type Resolved, type Router } from './router.ts';
import type { Tokens } from './tokens.ts';
import { handleUpload, tokenOf, type UploadDeps } from './upload.ts';
import { countHttp, routeOf, type HttpStats } from './metrics.ts';

export type { HttpStats };

const ROUTES_MAX = 8192;


export class RouteCache {
  private readonly map = new Map<string, Entry>();
  get(key: string): Entry | undefined { return this.map.get(key); }
  set(key: string, e: Entry): void {
    if (this.map.size >= ROUTES_MAX) this.map.clear();
    this.map.set(key, e);
  }
  clear(): void { this.map.clear(); }
  get size(): number { return this.map.size; }
}

function writeFast(socket: Socket, e: Entry, req: FastRequest, stats: HttpStats): void {
  if (req.ifNoneMatch !== undefined && noneMatch(req.ifNoneMatch, e.sha)) {
    stats.notModified++;
    countHttp(stats, routeOf(req.target), 304);
    socket.cork();
    socket.write(e.rawHead304);
    socket.write(dateTail());
    socket.uncork();
    return;
  }
  countHttp(stats, routeOf(req.target), 200);
  const v = pickVariant(e, req.acceptEncoding);
  if (req.method === 'HEAD') {
    socket.cork();
    socket.write(v.rawHead);
    socket.write(dateTail());
    socket.uncork();
  } else if (v.size <= WHOLE_MAX) {
    socket.write(wholeResponse(v));
  } else {
    socket.cork();
    socket.write(v.rawHead);
    socket.write(dateTail());
    socket.write(v.body!);
    socket.uncork();
  }
}

/** A short text answer (404, 400) as raw bytes: a miss does not push a connection off the lane. */
function writeMiss(socket: Socket, status: number, message: string, head: boolean): void {
  const body = `${message}\n`;
  const reason = status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : 'Error';
  socket.write(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`, 'latin1');
  socket.write(dateTail());
  if (!head) socket.write(body);
}

export function fastHandler(router: Router, routes: RouteCache, stats: HttpStats, uploadPath: string): LaneHandler {
  const take = (key: string, r: Resolved, req: FastRequest, socket: Socket): boolean => {
    if (isMiss(r)) {
      if (r.status !== 404 && r.status !== 400) return false;
      stats.requests++;
      countHttp(stats, routeOf(req.target), r.status);
      socket.cork();
      writeMiss(socket, r.status, r.message, req.method === 'HEAD');
      socket.uncork();
      return true;
    }
    if (!inMemory(r)) return false;
    routes.set(key, r);
    stats.requests++;
    writeFast(socket, r, req, stats);
    return true;
  };
  return {
    serve(req, socket) {
      const key = `${req.host ?? ''}\0${req.target}`;
      const hit = routes.get(key);
      if (hit) {
        stats.requests++;
        writeFast(socket, hit, req, stats);
        return true;
      }
      if (req.target.startsWith(uploadPath)) return false;
      const r = router.resolve(req.host, req.target);
      if (r instanceof Promise) return r.then((x) => (socket.destroyed ? true : take(key, x, req, socket)));
      return take(key, r, req, socket);
    },
  };
}

export interface NodeDeps {
  router: Router;
  stats: HttpStats;
  upload: UploadDeps;
  uploadPath: string;
  /** Buffers for files streamed from disk (their size is the read size). */
  chunks: ChunkPool;
}

export function nodeHandler(d: NodeDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> | void {
  return (req, res) => {
    const target = req.url ?? '/';
    const { path, query } = splitTarget(target);
    res.once('close', () => countHttp(d.stats, path === d.uploadPath ? 'upload' : routeOf(target), res.statusCode));
    if (path === d.uploadPath) return handleUpload(req, res, new URLSearchParams(query), d.upload);
    d.stats.requests++;
    // A body nobody reads: close after the answer rather than wait (with no deadline) to drain it.
    if ((req.headers['content-length'] ?? '0') !== '0' || req.headers['transfer-encoding'] !== undefined) res.setHeader('Connection', 'close');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
      return;
    }
    const r = d.router.resolve(req.headers.host, target);
    const answer = (x: Resolved): Promise<void> | void => {
      if (isMiss(x)) { sendText(res, x.status, x.message); return; }
      if (req.headers['if-none-match'] !== undefined && noneMatch(req.headers['if-none-match'], x.sha)) d.stats.notModified++;
      return sendEntry(req, res, x, d.chunks);
    };
    return r instanceof Promise ? r.then(answer) : answer(r);
  };
}

/** `GET <uploadPath>/progress?token=T` with Upgrade: websocket joins T's progress channel. */
export function upgradeHandler(uploadPath: string, tokens: Tokens, progress: Progress) {
  const refuse = (socket: Duplex, status: number, text: string) => {
    socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : status === 401 ? 'Unauthorized' : 'Forbidden'}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${text.length + 1}\r\n\r\n${text}\n`);
  };
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const { path, query } = splitTarget(req.url ?? '/');
    if (path !== `${uploadPath}/progress` || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      refuse(socket, 404, 'not found');
      return;
    }
    const token = tokenOf(req, new URLSearchParams(query));
    if (!token) { refuse(socket, 401, 'upload token required'); return; }
    if (!tokens.known(token)) { refuse(socket, 403, 'upload token unknown or expired'); return; }
    progress.accept(req, socket, head, token);
  };
}
