// Small HTTP pieces the dashboard's routes share: the limits on its port (head deadline, body
// caps), the checks that keep other web pages out (Host for DNS rebinding, Origin for cross-site
// requests), and JSON answers.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isLoopback } from './access.ts';

/** Deadlines on the dashboard's port: the request head, the whole request, an idle keep-alive. */
export const LIMITS = { headMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000, connections: 512 } as const;
/** Body caps: a config document (the host's own cap for config writes), anything else. */
export const BODY_MAX = { config: 1 << 20, small: 16 << 10 } as const;
/** The header every page request that changes something carries: a cross-site form cannot set it. */
export const ACTION_HEADER = 'x-cheshire-dashboard';

export function applyLimits(server: Server): void {
  server.headersTimeout = LIMITS.headMs;
  server.requestTimeout = LIMITS.requestMs;
  server.keepAliveTimeout = LIMITS.keepAliveMs;
  // Past this many open connections (pages, probes, scrapers) new ones are closed on accept.
  server.maxConnections = LIMITS.connections;
}

export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code = 'CHS_ERR_DASHBOARD_REQUEST') {
    super(message);
  }
}

const hostname = (host: string) => host.replace(/:\d+$/, '');

/**
 * Without a token, the page is reachable only as a loopback name: a page elsewhere that points a
 * DNS name of its own at 127.0.0.1 (rebinding) sends its own name as Host and is refused.
 */
export function hostAllowed(req: IncomingMessage, open: boolean): boolean {
  if (!open) return true;
  const host = req.headers.host;
  return !!host && isLoopback(hostname(host));
}

/** An Origin header, when the browser sent one, must be this very origin. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  return origin === `http://${req.headers.host}`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

/** The error as the API answers it: `{ error: { code, message } }` with its HTTP status. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = err as { status?: number; code?: string; message?: string };
  const status = err instanceof HttpError ? err.status : e.code === 'CHS_ERR_INSTANCE_NOT_FOUND' ? 404 : e.code === 'CHS_ERR_CONFIG_INVALID' ? 422 : 409;
  sendJson(res, status, { error: { code: e.code ?? 'CHS_ERR_DASHBOARD_REQUEST', message: e.message ?? String(err) } });
}

/** The request body, refused (413) past `max` bytes without reading the rest. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > max) {
      reject(new HttpError(413, `the body is ${declared} bytes; the cap is ${max}`));
      req.resume();
      return;
    }
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new HttpError(413, `the body is over the cap of ${max} bytes`));
        req.destroy();
        return;
      }
      parts.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** A JSON object body (CHS_ERR_DASHBOARD_REQUEST, 400, when it is not one). */
export async function readJson(req: IncomingMessage, max: number): Promise<Record<string, unknown>> {
  const text = (await readBody(req, max)).toString('utf8');
  let v: unknown;
  try {
    v = text ? JSON.parse(text) : {};
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'the body must be a JSON object');
  return v as Record<string, unknown>;
}
