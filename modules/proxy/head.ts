// Just enough HTTP/1.x head parsing for a relay: the request line, Host, the body's framing
// (Content-Length / chunked) and connection handling. The head is rewritten on the way through:
// hop-by-hop headers (Connection, Keep-Alive, TE, Upgrade, Proxy-Connection and what Connection
// names) are dropped, X-Forwarded-For/Proto/Host set. Everything else passes as it came.

import { hasBareCrLfOrNul } from 'cheshire/sdk';

/** Body framing: >= 0 a length, CHUNKED, or UNTIL_CLOSE (responses only). */
export const CHUNKED = -1;
export const UNTIL_CLOSE = -2;

export interface RequestHead {
  method: string;
  target: string;
  /** Minor version: 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: number;
  /** The Host header as sent. */
  host: string;
  /** Lowercased host name without port, for routing. */
  hostname: string;
  body: number;
  /** The client wants the connection kept after this exchange. */
  keepAlive: boolean;
  /** The Upgrade header of an upgrade request (`websocket`), else null. */
  upgrade: string | null;
  /** The head to send upstream (latin1 text, ending with the blank line). */
  out: string;
}

export interface ResponseHead {
  status: number;
  body: number;
  /** The upstream connection may serve another request after this response. */
  reusable: boolean;
  /** Header lines for the client, without Connection (the caller adds its own) and the blank line. */
  lines: string;
  minor: number;
}

export class HeadError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
export const idempotent = (method: string) => IDEMPOTENT.has(method);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** What the Connection headers of one message said (tokens lowercased). */
interface ConnTokens { close: boolean; keepAlive: boolean; upgrade: boolean; /** Any other token (headers to drop), or null. */ others: string[] | null }

const connTokens = (): ConnTokens => ({ close: false, keepAlive: false, upgrade: false, others: null });

/** Adds the comma-separated tokens of a Connection value to `c` (no arrays for the usual values). */
function addConnTokens(c: ConnTokens, v: string): void {
  let from = 0;
  while (from <= v.length) {
    let comma = v.indexOf(',', from);
    if (comma < 0) comma = v.length;
    const t = v.slice(from, comma).trim().toLowerCase();
    if (t === 'keep-alive') c.keepAlive = true;
    else if (t === 'close') c.close = true;
    else if (t === 'upgrade') c.upgrade = true;
    else if (t !== '') (c.others ??= []).push(t);
    from = comma + 1;
  }
}

/** The header names a Connection header makes hop-by-hop: every token it named. */
function connNamed(c: ConnTokens): Set<string> {
  const drop = new Set(c.others);
  if (c.close) drop.add('close');
  if (c.keepAlive) drop.add('keep-alive');
  if (c.upgrade) drop.add('upgrade');
  return drop;
}

/** A Content-Length value, checked against the one seen before in the head (-1: none); `bad` is the status to refuse with. */
function contentLength(v: string, before: number, bad: number): number {
  if (!/^\d{1,15}$/.test(v)) throw new HeadError(bad, 'malformed Content-Length');
  const n = Number(v);
  if (before !== -1 && before !== n) throw new HeadError(bad, 'conflicting Content-Length headers');
  return n;
}

/** Whether the last of the comma-separated codings is `chunked`. */
function endsChunked(v: string): boolean {
  const comma = v.lastIndexOf(',');
  return v.slice(comma + 1).trim().toLowerCase() === 'chunked';
}

/**
 * Walks the header lines of `text` (after the first line) without splitting it: calls `on` with
 * each line's bounds and its lowercased name when the first letter may start a name the caller
 * cares about (`interesting`: a mask of first letters, see letters()), else with name null. `on`
 * returns true to drop the line. Returns the head with the dropped lines cut out (the same
 * string when none was).
 */
function walkHeaders(text: string, interesting: number, bad: number, on: (name: string | null, line: number, colon: number, eol: number) => boolean): string {
  let pos = text.indexOf('\r\n');
  if (pos < 0) return text;
  pos += 2;
  let out = '';
  let keptFrom = 0;
  const n = text.length;
  while (pos < n) {
    let eol = text.indexOf('\r\n', pos);
    if (eol < 0) eol = n;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon > eol) throw new HeadError(bad, 'malformed header line');
    const c0 = text.charCodeAt(pos);
    if (c0 === 32 || c0 === 9 || text.charCodeAt(colon - 1) === 32) throw new HeadError(bad, 'whitespace around a header name (or an obsolete folded line)');
    const letter = (c0 | 0x20) - 97;
    const name = letter >= 0 && letter < 26 && (interesting & (1 << letter)) !== 0 ? text.slice(pos, colon).toLowerCase() : null;
    if (on(name, pos, colon, eol)) {
      out += text.slice(keptFrom, pos);
      keptFrom = eol + 2;
    }
    pos = eol + 2;
  }
  if (keptFrom === 0) return text;
  return keptFrom >= n ? out.slice(0, -2) : out + text.slice(keptFrom);
}

const letters = (s: string) => [...s].reduce((m, ch) => m | (1 << (ch.charCodeAt(0) - 97)), 0);
const REQUEST_LETTERS = letters('chtukpx');
const RESPONSE_LETTERS = letters('ctkp');
const value = (text: string, colon: number, eol: number) => text.slice(colon + 1, eol).trim();
const DROP_REQUEST = new Set(['connection', 'upgrade', 'x-forwarded-for', 'keep-alive', 'proxy-connection', 'te', 'x-forwarded-proto', 'x-forwarded-host']);

/** Parses the request head in `text` (without the final CRLFCRLF). */
export function parseRequest(text: string, remote: string, proto: string): RequestHead {
  // Refused rather than forwarded: a lenient node might end a line at a bare LF where we did not.
  if (hasBareCrLfOrNul(text)) throw new HeadError(400, 'bare CR, bare LF or NUL in the request head');
  let eol = text.indexOf('\r\n');
  if (eol < 0) eol = text.length;
  const sp1 = text.indexOf(' ');
  const sp2 = text.lastIndexOf(' ', eol);
  if (sp1 <= 0 || sp2 <= sp1 || sp1 > eol) throw new HeadError(400, 'malformed request line');
  const method = text.slice(0, sp1);
  const target = text.slice(sp1 + 1, sp2);
  const version = text.slice(sp2 + 1, eol);
  if (!TOKEN.test(method)) throw new HeadError(400, 'malformed method');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') throw new HeadError(version.startsWith('HTTP/') ? 505 : 400, `unsupported version ${version.slice(0, 16)}`);
  if (target.length === 0 || target.includes(' ')) throw new HeadError(400, 'malformed request target');
  const minor = version === 'HTTP/1.1' ? 1 : 0;

  let host: string | null = null;
  let length = -1;
  let te: string | null = null;
  const conn = connTokens(); // other tokens name more hop-by-hop headers: dropped in a second pass
  let upgrade: string | null = null;
  let xff: string | null = null;
  let out = walkHeaders(text, REQUEST_LETTERS, 400, (name, _line, colon, eol) => {
    switch (name) {
      case 'host':
        if (host !== null) throw new HeadError(400, 'more than one Host header');
        host = value(text, colon, eol);
        return false;
      case 'content-length': {
        const dup = length !== -1;
        length = contentLength(value(text, colon, eol), length, 400);
        return dup; // a repeat of the same length is dropped
      }
      case 'transfer-encoding':
        te = (te ? te + ',' : '') + text.slice(colon + 1, eol);
        return false;
      case 'connection':
        addConnTokens(conn, text.slice(colon + 1, eol));
        return true;
      case 'upgrade':
        upgrade = value(text, colon, eol);
        return true;
      case 'x-forwarded-for':
        xff = (xff ? xff + ', ' : '') + value(text, colon, eol);
        return true;
      case 'keep-alive': case 'proxy-connection': case 'te': case 'x-forwarded-proto': case 'x-forwarded-host':
        return true;
      default:
        return false;
    }
  });
  if (host === null) {
    if (minor === 1) throw new HeadError(400, 'HTTP/1.1 request without a Host header');
    host = '';
  }
  let body = 0;
  if (te !== null) {
    if (length !== -1) throw new HeadError(400, 'both Transfer-Encoding and Content-Length (refused: request smuggling)');
    if (!endsChunked(te)) throw new HeadError(400, 'Transfer-Encoding must end with chunked');
    body = CHUNKED;
  } else if (length > 0) body = length;
  const keepAlive = minor === 1 ? !conn.close : conn.keepAlive;
  const isUpgrade = upgrade !== null && conn.upgrade;
  if (conn.others) {
    const drop = connNamed(conn);
    out = walkHeaders(out, 0, 400, (_n, line, colon) => {
      const name = out.slice(line, colon).toLowerCase();
      return drop.has(name) || DROP_REQUEST.has(name);
    });
  }
  out += `\r\nX-Forwarded-For: ${xff ? xff + ', ' : ''}${remote}\r\nX-Forwarded-Proto: ${proto}\r\nX-Forwarded-Host: ${host}\r\n`;
  if (isUpgrade) out += `Connection: Upgrade\r\nUpgrade: ${upgrade}\r\n`;
  else if (minor === 0) out += 'Connection: keep-alive\r\n';
  out += '\r\n';
  return { method, target, minor, host, hostname: hostnameOf(host), body, keepAlive, upgrade: isUpgrade ? upgrade : null, out };
}

export function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return host.slice(0, end + 1).toLowerCase();
  }
  const colon = host.indexOf(':');
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}

/** Parses a response head (without the final CRLFCRLF) to a request with `method`. */
export function parseResponse(text: string, method: string): ResponseHead {
  if (!text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 32) throw new HeadError(502, 'malformed status line');
  const minor = text.charCodeAt(7) === 49 ? 1 : 0;
  const status = Number(text.slice(9, 12));
  if (!Number.isInteger(status) || status < 100 || status > 999) throw new HeadError(502, 'malformed status code');
  let length = -1;
  let chunked = false;
  const conn = connTokens();
  let out = walkHeaders(text, RESPONSE_LETTERS, 502, (name, _line, colon, eol) => {
    switch (name) {
      case 'content-length': {
        const dup = length !== -1;
        length = contentLength(value(text, colon, eol), length, 502);
        return dup; // a repeat of the same length is dropped
      }
      case 'transfer-encoding':
        chunked = endsChunked(text.slice(colon + 1, eol));
        return false;
      case 'connection':
        addConnTokens(conn, text.slice(colon + 1, eol));
        return true;
      case 'keep-alive': case 'proxy-connection':
        return true;
      default:
        return false;
    }
  });
  if (conn.others) {
    const drop = connNamed(conn);
    out = walkHeaders(out, 0, 502, (_n, line, colon) => drop.has(out.slice(line, colon).toLowerCase()));
  }
  let body: number;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) body = 0;
  else if (chunked) body = CHUNKED;
  else if (length >= 0) body = length;
  else body = UNTIL_CLOSE;
  const keep = minor === 1 ? !conn.close : conn.keepAlive;
  return { status, body, reusable: keep && body !== UNTIL_CLOSE, lines: out + '\r\n', minor };
}
