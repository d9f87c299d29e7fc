// Answers a request with an Entry through node:http (the fast lane's fallback, and the only
// path for ranges and files streamed from disk): 304 for a matching If-None-Match, 206/416 for
// a single byte range of the identity bytes, br/gzip by Accept-Encoding otherwise. Bodies in
// memory go out in one res.end; files are streamed from a cached descriptor with large
// positional reads (no per-request open/stat), one read ahead of the socket. (Not
// fs.createReadStream on the shared descriptor: under wrk, with clients dropping connections
// mid-body, Node 20 aborted the process with it.)
import { read } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Entry, Variant } from './entry.ts';
import type { ChunkPool } from 'cheshire/sdk';
import { chooseCoding, ifRangeHolds, noneMatch, parseRange } from './negotiate.ts';

export function pickVariant(e: Entry, acceptEncoding: string | undefined): Variant {
  const c = chooseCoding(acceptEncoding, !!e.br, !!e.gzip);
  return c === 'br' ? e.br! : c === 'gzip' ? e.gzip! : e.identity;
}

export function sendText(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

export async function sendEntry(req: IncomingMessage, res: ServerResponse, e: Entry, chunks: ChunkPool): Promise<void> {
  const head = req.method === 'HEAD';
  if (noneMatch(req.headers['if-none-match'], e.sha)) {
    res.writeHead(304, e.headers304);
    res.end();
    return;
  }
  const rangeHeader = req.headers.range;
  if (rangeHeader !== undefined && ifRangeHolds(req.headers['if-range'] as string | undefined, e.identity.etag)) {
    const v = e.identity;
    const r = parseRange(rangeHeader, v.size);
    if (r.kind === 'unsatisfiable') {
      const h = ['Content-Range', `bytes */${v.size}`, 'Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '22', 'ETag', v.etag];
      res.writeHead(416, h);
      res.end(head ? undefined : 'range not satisfiable\n');
      return;
    }
    if (r.kind === 'range') {
      const len = r.end - r.start + 1;
      const h = ['Content-Type', e.type, 'Content-Length', String(len), 'Content-Range', `bytes ${r.start}-${r.end}/${v.size}`,
        'ETag', v.etag, 'Cache-Control', e.cacheControl, 'Accept-Ranges', 'bytes'];
      if (e.vary) h.push('Vary', 'Accept-Encoding');
      res.writeHead(206, h);
      if (head) { res.end(); return; }
      await sendBody(res, v, r.start, r.end, chunks);
      return;
    }
  }
  const v = pickVariant(e, req.headers['accept-encoding']);
  res.writeHead(200, v.headers);
  if (head) { res.end(); return; }
  await sendBody(res, v, 0, v.size - 1, chunks);
}

async function sendBody(res: ServerResponse, v: Variant, start: number, end: number, chunks: ChunkPool): Promise<void> {
  const chunkBytes = chunks.size;
  if (v.body) {
    res.end(start === 0 && end === v.size - 1 ? v.body : v.body.subarray(start, end + 1));
    return;
  }
  if (end < start) { res.end(); return; }
  const { fd, release } = await v.file!.acquire();
  let next: Promise<Buffer> | null = null;
  try {
    let pos = start;
    next = readAt(fd, chunks, Math.min(chunkBytes, end - pos + 1), pos);
    while (next) {
      const b = await next;
      if (b.length === 0) throw new Error(`${v.file!.path}: shorter than its size`);
      pos += b.length;
      next = pos <= end && !res.destroyed ? readAt(fd, chunks, Math.min(chunkBytes, end - pos + 1), pos) : null;
      if (res.destroyed) break;
      // The buffer goes back to the pool once this write has handed its bytes to the kernel.
      const whole = Buffer.from(b.buffer, b.byteOffset, chunkBytes);
      if (!res.write(b, (err) => { if (!err) chunks.give(whole); })) await drained(res);
    }
    if (!res.destroyed) res.end();
  } catch {
    if (!res.destroyed) res.destroy();
  } finally {
    if (next) await next.catch(() => undefined); // the read in flight must finish before release
    release();
  }
}

/** Up to n bytes at pos, in a pool buffer (a view of it: its first `got` bytes). */
function readAt(fd: number, chunks: ChunkPool, n: number, pos: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buf = chunks.take();
    read(fd, buf, 0, n, pos, (err, got) => (err ? reject(err) : resolve(buf.subarray(0, got))));
  });
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
