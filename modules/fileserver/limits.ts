// The fileserver's connection caps and deadlines (docs/fileserver.md, "Limits"): the listener's
// HttpGuard (cheshire/sdk) set from this version's config, used by the fast lane for every
// connection; and the same deadlines on node:http, which keeps the connections the lane hands
// over (headersTimeout: a deadline from a head's first byte, checked every connectionsCheckingInterval;
// keepAliveTimeout between requests). Refusals and time-outs are logged as typed
// CHS_ERR_FILESERVER_* lines, one per reason at most once a minute.
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { answerAndClose, guardLimits, httpGuard, type HttpGuard, type HttpLimitsConfig, type ModuleContext } from 'cheshire/sdk';
import { fileserverError, type FileserverErrorCode } from './errors.ts';

export type LimitsConfig = HttpLimitsConfig;

/** Options for creating the http.Server (they cannot change on a server taken over). */
export function serverOptions(c: LimitsConfig): http.ServerOptions {
  return { connectionsCheckingInterval: Math.max(20, Math.min(1000, Math.floor(c.headTimeoutMs / 4))) };
}

export function fileserverGuard(ctx: ModuleContext<any>, server: http.Server, c: LimitsConfig): HttpGuard<FileserverErrorCode> {
  const guard = httpGuard<FileserverErrorCode>(server, {
    limits: guardLimits(c),
    refusedCode: 'CHS_ERR_FILESERVER_REFUSED',
    log: (code, message) => ctx.log.warn({ code }, fileserverError(code, `${ctx.id}: ${message}`).message),
  });
  server.headersTimeout = c.headTimeoutMs;
  server.keepAliveTimeout = c.idleTimeoutMs;
  server.removeAllListeners('clientError');
  server.on('clientError', clientError(guard));
  return guard;
}

/**
 * node:http's answer to a head it could not take (what it does by default: 408 for a head past
 * headersTimeout, 431 for an oversized one, else 400), with `Connection: close` and a typed log line.
 */
function clientError(guard: HttpGuard<FileserverErrorCode>): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (err.code === 'ECONNRESET' || err.code === 'HPE_INVALID_EOF_STATE' || !socket.writable || inFlight) {
      socket.destroy();
      return;
    }
    const sock = socket as Socket;
    const who = sock.remoteAddress ?? '?';
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      const why = `no complete request head within ${guard.limits.headTimeoutMs} ms`;
      guard.report('head', 'CHS_ERR_FILESERVER_HEAD_TIMEOUT', `closed ${who}'s connection: ${why}`);
      answerAndClose(sock, 408, `${why} (CHS_ERR_FILESERVER_HEAD_TIMEOUT)`, guard.limits.lingerMs);
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const why = `malformed request (${err.code ?? err.message})`;
    guard.report('bad-request', 'CHS_ERR_FILESERVER_BAD_REQUEST', `refused a request on ${who}'s connection: ${why}`);
    answerAndClose(sock, status, `${why} (CHS_ERR_FILESERVER_BAD_REQUEST)`, guard.limits.lingerMs);
  };
}
