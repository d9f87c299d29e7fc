// A short HTTP answer of our own that ends the connection: status line, one line of text,
// `Connection: close`, then our side closed. What the client still sends is read and dropped
// for a moment, because closing a socket with unread bytes makes the kernel send a reset that
// can destroy the answer before the client reads it.

import type { Socket } from 'node:net';

const REASON: Record<number, string> = {
  400: 'Bad Request', 408: 'Request Timeout', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large',
  503: 'Service Unavailable',
};

/** Sockets lingering after such an answer, at most; past it the socket closes once the answer is flushed. */
const MAX_LINGERING = 64;
let lingering = 0;

const noop = (): void => undefined;

/** The bytes of a short answer with `Connection: close` (`Retry-After: 1` for 429/503). */
export function closingAnswer(status: number, text: string): string {
  const reason = REASON[status] ?? 'Error';
  const body = `${status} ${reason}: ${text}\n`;
  const retry = status === 429 || status === 503 ? 'Retry-After: 1\r\n' : '';
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`
    + `Cache-Control: no-store\r\n${retry}Connection: close\r\n\r\n${body}`;
}

/**
 * Writes closingAnswer(status, text), closes our side, drops what arrives, and destroys the socket
 * after `lingerMs` (sooner if the client closes). Only for answers given before a request was
 * taken (a refused connection, a head that never completed or broke the rules), so the body is
 * always sent.
 */
export function answerAndClose(socket: Socket, status: number, text: string, lingerMs = 1000): void {
  if (socket.destroyed) return;
  socket.on('error', noop);
  socket.write(closingAnswer(status, text));
  if (lingering >= MAX_LINGERING) {
    socket.destroySoon();
    return;
  }
  lingering++;
  socket.end();
  socket.on('data', noop);
  socket.resume();
  const timer = setTimeout(() => socket.destroy(), lingerMs);
  timer.unref();
  socket.once('close', () => { lingering--; clearTimeout(timer); });
}
