// An Entry is one servable content at a URL: its identity bytes and optional br/gzip codings,
// each with its response head built once (a flat header list for res.writeHead, and the raw
// HTTP/1.1 bytes for the fast lane), so serving a hot file costs a lookup and a write.
import type { Coding } from './negotiate.ts';

/** A file on disk whose descriptor is shared and cached (see store.ts). */
export interface FileRef {
  path: string;
  /** An open descriptor for positional reads; call release() when done with it. */
  acquire(): Promise<{ fd: number; release(): void }>;
}

export interface Variant {
  coding: Coding;
  size: number;
  etag: string;
  /** The bytes, when kept in memory. */
  body: Buffer | undefined;
  /** The file, when not in memory. */
  file: FileRef | undefined;
  /** 200 headers for res.writeHead (name, value, name, value...). */
  headers: string[];
  /** `HTTP/1.1 200 OK\r\n<headers>\r\n` without Date and the blank line. */
  rawHead: Buffer;
  /** Small bodies: head + Date + body in one buffer, rebuilt when the Date second changes. */
  whole: Buffer | undefined;
  wholeDate: string;
}

export interface Entry {
  sha: string;
  type: string;
  cacheControl: string;
  /** Sent `Vary: Accept-Encoding` (the entry has codings). */
  vary: boolean;
  identity: Variant;
  br: Variant | undefined;
  gzip: Variant | undefined;
  headers304: string[];
  rawHead304: Buffer;
  /** Bytes of memory the bodies hold. */
  memory: number;
}

export interface VariantSource {
  size: number;
  body?: Buffer;
  file?: FileRef;
}

/** Bodies up to this size are served from one pre-joined buffer (head + Date + body). */
export const WHOLE_MAX = 16 * 1024;

function rawHead(status: string, headers: string[]): Buffer {
  let s = `HTTP/1.1 ${status}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return Buffer.from(s, 'latin1');
}

export function etagOf(sha: string, coding: Coding): string {
  return coding === 'identity' ? `"${sha}"` : `"${sha}-${coding}"`;
}

function variant(sha: string, type: string, cacheControl: string, vary: boolean, coding: Coding, src: VariantSource): Variant {
  const etag = etagOf(sha, coding);
  const headers = ['Content-Type', type, 'Content-Length', String(src.size), 'ETag', etag, 'Cache-Control', cacheControl];
  if (coding === 'identity') headers.push('Accept-Ranges', 'bytes');
  else headers.push('Content-Encoding', coding);
  if (vary) headers.push('Vary', 'Accept-Encoding');
  return {
    coding, size: src.size, etag, body: src.body, file: src.body ? undefined : src.file,
    headers, rawHead: rawHead('200 OK', headers), whole: undefined, wholeDate: '',
  };
}

export function makeEntry(opts: {
  sha: string;
  type: string;
  cacheControl: string;
  identity: VariantSource;
  br?: VariantSource | undefined;
  gzip?: VariantSource | undefined;
}): Entry {
  const { sha, type, cacheControl } = opts;
  const vary = !!(opts.br || opts.gzip);
  const headers304 = ['ETag', etagOf(sha, 'identity'), 'Cache-Control', cacheControl];
  if (vary) headers304.push('Vary', 'Accept-Encoding');
  const e: Entry = {
    sha, type, cacheControl, vary,
    identity: variant(sha, type, cacheControl, vary, 'identity', opts.identity),
    br: opts.br ? variant(sha, type, cacheControl, vary, 'br', opts.br) : undefined,
    gzip: opts.gzip ? variant(sha, type, cacheControl, vary, 'gzip', opts.gzip) : undefined,
    headers304,
    rawHead304: rawHead('304 Not Modified', headers304),
    memory: 0,
  };
  for (const v of [e.identity, e.br, e.gzip]) if (v?.body) e.memory += v.body.length;
  return e;
}

/** Whether every variant of the entry is in memory (the fast lane serves only such entries). */
export function inMemory(e: Entry): boolean {
  return !!e.identity.body && (!e.br || !!e.br.body) && (!e.gzip || !!e.gzip.body);
}

// ---- the Date header, formatted once per second -------------------------------------------

let dateSecond = -1;
let dateValue = '';
let dateLine = Buffer.alloc(0);

/** The current `Date: ...\r\n\r\n` line (ends the head). */
export function dateTail(): Buffer {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateValue = new Date(s * 1000).toUTCString();
    dateLine = Buffer.from(`Date: ${dateValue}\r\n\r\n`, 'latin1');
  }
  return dateLine;
}

/** head + Date + body as one buffer for small bodies (cached per second). */
export function wholeResponse(v: Variant): Buffer {
  const tail = dateTail();
  if (v.whole && v.wholeDate === dateValue) return v.whole;
  v.whole = Buffer.concat([v.rawHead, tail, v.body!]);
  v.wholeDate = dateValue;
  return v.whole;
}
