// Uploads: `POST <uploadPath>?name=<path>&sha256=<hex>` with `Authorization: Bearer <token>`
// (or `?token=`). The body streams to a temp file in the store's tmp/ while its sha256 is
// computed: every chunk is hashed on arrival and written with a positional write on the libuv
// pool (several in flight, reading paused above 8 MiB queued), and fdatasync runs every
// `syncBytes` in the background so the closing fsync has little left to flush. At the end:
// fsync, hash check, then an atomic rename into the store (codings made when the type is
// compressible). Any failure (bad token, oversized body, client gone, hash mismatch, disk
// error, a body that makes no progress for bodyTimeoutMs) removes the temp file once its writes
// have settled (so its fd is closed at once), gives the token's use back, and answers a 4xx/5xx
// with a one-line body and `Connection: close`.
import { createHash } from 'node:crypto';
import { close, fdatasync, fsync, open, rm, write } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { tempName } from './durable.ts';
import { fileserverError } from './errors.ts';
import { compressible, contentType } from './mime.ts';
import { SHA256_RE, checkName } from './paths.ts';
import type { Progress } from './progress.ts';
import type { PutResult, Store } from './store.ts';
import type { Token, Tokens } from './tokens.ts';

export interface UploadDeps {
  store: Store;
  tokens: Tokens;
  progress: Progress;
  maxBytes: number;
  syncBytes: number;
  /** An upload whose body makes no progress for this long fails with 408 (reading paused by us does not count). */
  bodyTimeoutMs: number;
  log: Logger;
  stats: { uploads: number; uploadFailures: number; uploadBytes: number };
}

const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 2 * 1024 * 1024;
const PROGRESS_BYTES = 64 * 1024;
const PROGRESS_MS = 50;

export class UploadError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

export function tokenOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  return query.get('token') ?? undefined;
}

function reply(res: ServerResponse, status: number, text: string, close: boolean): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text) + 1) };
  if (close) headers.Connection = 'close';
  res.writeHead(status, headers);
  res.end(`${text}\n`);
}

export async function handleUpload(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, d: UploadDeps): Promise<void> {
  if (req.method !== 'POST' && req.method !== 'PUT') {
    res.setHeader('Allow', 'POST, PUT');
    reply(res, 405, 'method not allowed: upload with POST', true);
    return;
  }
  const tokenValue = tokenOf(req, query);
  const check = d.tokens.take(tokenValue);
  if (!check.ok) { reply(res, check.status, check.message, true); return; }
  const token = check.token;
  const fail = (status: number, message: string) => {
    d.tokens.giveBack(token);
    d.stats.uploadFailures++;
    d.progress.send(token.token, { type: 'error', status, message });
    reply(res, status, message, true);
  };

  const expectedRaw = query.get('sha256') ?? (req.headers['x-content-sha256'] as string | undefined);
  const expected = expectedRaw?.trim().toLowerCase();
  if (expected !== undefined && !SHA256_RE.test(expected)) { fail(400, 'sha256 must be 64 hex digits'); return; }
  const rawName = query.get('name');
  const name = rawName === null ? undefined : checkName(rawName);
  if (rawName !== null && !name) { fail(400, 'bad name'); return; }
  const limit = Math.min(token.maxBytes, d.maxBytes);
  const declared = req.headers['content-length'] === undefined ? null : Number(req.headers['content-length']);
  if (declared !== null && declared > limit) { fail(413, `upload too large: ${declared} bytes, limit ${limit}`); return; }
  const type = name ? contentType(name) : (req.headers['content-type'] ?? 'application/octet-stream');

  let result: PutResult;
  try {
    const { sha, size, tmp } = await receive(req, d, token, limit, declared);
    try {
      if (expected !== undefined && expected !== sha) throw new UploadError(422, `sha256 mismatch: expected ${expected}, got ${sha}`);
      result = await d.store.commitFile(tmp, sha, size, compressible(type));
    } catch (err) {
      await new Promise<void>((r) => rm(tmp, { force: true }, () => r()));
      throw err;
    }
  } catch (err) {
    if (err instanceof UploadError) {
      if (err.status === 408) d.log.warn({ code: 'CHS_ERR_FILESERVER_BODY_TIMEOUT' }, fileserverError('CHS_ERR_FILESERVER_BODY_TIMEOUT', `upload from ${req.socket.remoteAddress ?? '?'}: ${err.message}; temp file removed`).message);
      fail(err.status, err.message);
    }
    else {
      d.log.error({ err }, 'upload failed');
      fail(500, `upload failed: ${(err as Error).message}`);
    }
    return;
  }
  d.tokens.settle(token);
  d.stats.uploads++;
  d.stats.uploadBytes += result.size;
  const url = `/static/${result.sha256}${name ? '/' + name.split('/').map(encodeURIComponent).join('/') : ''}`;
  d.progress.send(token.token, { type: 'done', sha256: result.sha256, size: result.size, url, codings: result.codings });
  const body = JSON.stringify({ sha256: result.sha256, size: result.size, url, codings: result.codings, existed: result.existed }) + '\n';
  res.writeHead(201, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Location: url });
  res.end(body);
}

/** Streams the body to a temp file; resolves when it is complete and fsynced. */
function receive(req: IncomingMessage, d: UploadDeps, token: Token, limit: number, declared: number | null): Promise<{ sha: string; size: number; tmp: string }> {
  const tmp = tempName(d.store.tmpDir, 'up');
  return new Promise((resolve, reject) => {
    open(tmp, 'wx', 0o644, (err, fd) => {
      if (err) { reject(err); return; }
      const hash = createHash('sha256');
      let received = 0; // bytes read from the request
      let written = 0; // bytes whose write completed
      let inflight = 0; // writes outstanding
      let paused = false;
      let ended = false;
      let failure: Error | null = null;
      let syncing = false;
      let syncedTo = 0;
      let lastSent = 0;
      let lastSentAt = 0;
      let settled = false;
      // The body deadline: restarted by every chunk; while we paused reading (the disk is behind)
      // the stall is ours, not the client's.
      const stall = setTimeout(function onStall() {
        if (paused) { stall.refresh(); return; }
        failWith(new UploadError(408, `upload stalled: no body bytes for ${d.bodyTimeoutMs} ms`));
      }, d.bodyTimeoutMs);

      const detach = (): void => {
        clearTimeout(stall);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('close', onClose);
        req.off('error', onError);
      };
      // Settles once no write or sync is outstanding: on failure the temp file goes away.
      const maybeSettle = (): void => {
        if (settled || inflight > 0 || syncing) return;
        if (failure) {
          settled = true;
          detach();
          const f = failure;
          close(fd, () => rm(tmp, { force: true }, () => reject(f)));
          return;
        }
        if (!ended) return;
        settled = true;
        detach();
        fsync(fd, (e1) => close(fd, (e2) => {
          const e = e1 ?? e2;
          if (e) { rm(tmp, { force: true }, () => reject(e)); return; }
          resolve({ sha: hash.digest('hex'), size: received, tmp });
        }));
      };
      const failWith = (e: Error): void => {
        if (failure || settled) return;
        failure = e;
        clearTimeout(stall);
        maybeSettle();
      };
      const sendProgress = (force: boolean): void => {
        const now = Date.now();
        if (!force && (received - lastSent < PROGRESS_BYTES || now - lastSentAt < PROGRESS_MS)) return;
        lastSent = received;
        lastSentAt = now;
        d.progress.send(token.token, { type: 'progress', received, total: declared });
      };
      const onData = (chunk: Buffer): void => {
        if (failure) return;
        stall.refresh();
        received += chunk.length;
        if (received > limit) { failWith(new UploadError(413, `upload too large: over ${limit} bytes`)); return; }
        hash.update(chunk);
        inflight++;
        write(fd, chunk, 0, chunk.length, received - chunk.length, (e) => {
          inflight--;
          if (e) { failWith(e); return; }
          written += chunk.length;
          if (paused && !failure && received - written < LOW_WATER) { paused = false; req.resume(); }
          if (!syncing && !failure && d.syncBytes > 0 && written - syncedTo >= d.syncBytes) {
            syncing = true;
            const to = written;
            fdatasync(fd, (se) => {
              syncing = false;
              syncedTo = to;
              if (se) failWith(se);
              else maybeSettle();
            });
          }
          maybeSettle();
        });
        if (!paused && received - written > HIGH_WATER) { paused = true; req.pause(); }
        sendProgress(false);
      };
      const onEnd = (): void => {
        if (failure) return;
        clearTimeout(stall);
        ended = true;
        sendProgress(true);
        maybeSettle();
      };
      const onClose = (): void => {
        if (!ended) failWith(new UploadError(400, 'upload interrupted'));
      };
      const onError = (e: Error): void => failWith(new UploadError(400, `upload interrupted: ${e.message}`));
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('close', onClose);
      req.on('error', onError);
    });
  });
}
