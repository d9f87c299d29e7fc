// Bounds-checked little-endian Reader and Writer for 9P fields. Every read checks the bytes are
// there first, so a hostile frame can only ever produce a CodecError, never a RangeError or a
// read of someone else's memory.
//
// Strings (s[2]) decision: decoding rejects NUL bytes and invalid UTF-8 (overlong forms,
// surrogates, truncated sequences) rather than substituting U+FFFD: a name that silently became a
// different name would open the wrong file, and a JS string cannot carry the original bytes. A
// leading BOM is kept as U+FEFF so decode -> encode is byte-identical. Encoding rejects NUL and
// lone surrogates for the same reason (TextEncoder would turn them into U+FFFD).

import { CodecError } from './errors.ts';
import type { CodecErrorDetail } from './errors.ts';
import type { Qid } from './messages.ts';

export { CodecError };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();
const TWO64 = 1n << 64n;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A u64 as a number when it is exactly representable, else a CodecError naming the field. */
export function toSafeNumber(v: bigint, field = 'u64'): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new CodecError('limit', `${field}: ${v} does not fit a JS number exactly`);
  }
  return Number(v);
}

export class Reader {
  private readonly bytes: Uint8Array;
  /** Made on first use: most messages need no u64, and a DataView per frame shows in profiles. */
  private dv: DataView | undefined;
  private pos: number;
  private readonly limit: number;
  /** Prefixed to every reason, e.g. "Twalk"; carries tag/type into errors. */
  context: { label?: string; tag?: number; msgType?: number } = {};

  /** Reads bytes[start, end); offsets in errors are relative to `bytes` (the whole frame). */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.limit = end;
  }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.limit - this.pos; }

  fail(kind: CodecError['kind'], reason: string, offset = this.pos): CodecError {
    const detail: CodecErrorDetail = { offset };
    if (this.context.tag !== undefined) detail.tag = this.context.tag;
    if (this.context.msgType !== undefined) detail.msgType = this.context.msgType;
    const label = this.context.label ? `${this.context.label}.` : '';
    return new CodecError(kind, `${label}${reason}`, detail);
  }

  private need(n: number, field: string): number {
    if (n > this.remaining) {
      throw this.fail('truncated', `${field}: needs ${n} bytes at offset ${this.pos}, only ${this.remaining} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private get view(): DataView {
    return this.dv ??= new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  u8(field: string): number { return this.bytes[this.need(1, field)]!; }
  u16(field: string): number {
    const at = this.need(2, field);
    const b = this.bytes;
    return b[at]! | (b[at + 1]! << 8);
  }
  u32(field: string): number {
    const at = this.need(4, field);
    const b = this.bytes;
    return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
  }
  u64(field: string): bigint { return this.view.getBigUint64(this.need(8, field), true); }
  /** A u64 that the caller needs as a number (e.g. a length used to slice). */
  u64n(field: string): number { return toSafeNumber(this.u64(field), field); }

  /** s[2]: len[2] then len bytes of UTF-8 with no NUL. */
  str(field: string): string {
    const len = this.u16(`${field} length`);
    if (len > this.remaining) {
      throw this.fail('truncated', `${field}: string of ${len} bytes at offset ${this.pos} runs past the end (${this.remaining} left)`);
    }
    const at = this.pos;
    const raw = this.bytes.subarray(at, at + len);
    const nul = raw.indexOf(0);
    if (nul >= 0) throw this.fail('string', `${field}: NUL byte in string at offset ${at + nul}`, at + nul);
    let s: string;
    try {
      s = utf8.decode(raw);
    } catch {
      throw this.fail('string', `${field}: invalid UTF-8 in string at offset ${at}`, at);
    }
    this.pos += len;
    return s;
  }

  /** qid[13]: type[1] version[4] path[8]. */
  qid(field: string): Qid {
    const at = this.need(13, field);
    return {
      type: this.view.getUint8(at),
      version: this.view.getUint32(at + 1, true),
      path: this.view.getBigUint64(at + 5, true),
    };
  }

  /** n raw bytes, as a view into the frame (no copy): valid while the frame is. */
  bytesView(n: number, field: string): Uint8Array {
    const at = this.need(n, field);
    const b = this.bytes;
    return new Uint8Array(b.buffer, b.byteOffset + at, n);
  }

  /** count[4] then count bytes. */
  data(field: string): Uint8Array {
    const n = this.u32(`${field} count`);
    if (n > this.remaining) {
      throw this.fail('truncated', `${field}: count ${n} at offset ${this.pos - 4} exceeds the ${this.remaining} bytes left`, this.pos - 4);
    }
    return this.bytesView(n, field);
  }

  /** A Reader over the next n bytes (e.g. one stat entry), advancing this one past them. */
  sub(n: number, field: string): Reader {
    const at = this.need(n, field);
    const r = new Reader(this.bytes, at, at + n);
    r.context = this.context;
    return r;
  }

  /** Every field has been read: anything left is an error, not padding. */
  end(what = 'message'): void {
    if (this.pos !== this.limit) {
      throw this.fail('trailing', `${this.limit - this.pos} trailing bytes after the ${what} at offset ${this.pos}`);
    }
  }
}

function rangeError(field: string, v: unknown, what: string): CodecError {
  return new CodecError('encode', `${field}: ${String(v)} is not ${what}`);
}

function checkUint(v: number, max: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw rangeError(field, v, `an integer in 0..${max}`);
}

/** UTF-8 bytes of a 9P string, after checking it can travel unchanged. */
export function stringBytes(s: string, field: string): Uint8Array {
  if (typeof s !== 'string') throw rangeError(field, s, 'a string');
  if (s.includes('\0')) throw new CodecError('string', `${field}: NUL in string`);
  if (LONE_SURROGATE.test(s)) throw new CodecError('string', `${field}: lone surrogate cannot be UTF-8`);
  const b = encoder.encode(s);
  if (b.length > 0xffff) throw new CodecError('encode', `${field}: string of ${b.length} bytes exceeds 65535`);
  return b;
}

/** Appends fields to a buffer that doubles as needed; finish() returns exactly what was written. */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private pos = 0;

  /**
   * Pass the exact size when known (e.g. Rread: header + data) to avoid any regrowth.
   * The memory is Buffer.allocUnsafe's (small sizes come from Node's shared pool): every byte
   * handed out by room() is written before finish(), so nothing uninitialised leaves. A plain
   * `new Uint8Array(64)` lives on V8's heap, and asking for its `.buffer` (the DataView) moves it
   * off-heap: an allocation, a copy and external memory for the GC on every small reply.
   */
  constructor(capacity = 64) {
    this.buf = Buffer.allocUnsafe(Math.max(16, capacity));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  get length(): number { return this.pos; }

  private room(n: number): number {
    if (this.pos + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.pos + n) cap *= 2;
      const next = Buffer.allocUnsafe(cap);
      next.set(this.buf.subarray(0, this.pos));
      this.buf = next;
      this.view = new DataView(next.buffer, next.byteOffset, next.byteLength);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  // Each writer takes its offset from room() before touching this.view/this.buf, because room()
  // may replace both when it grows the buffer.
  u8(v: number, field: string): void { checkUint(v, 0xff, field); const at = this.room(1); this.view.setUint8(at, v); }
  u16(v: number, field: string): void { checkUint(v, 0xffff, field); const at = this.room(2); this.view.setUint16(at, v, true); }
  u32(v: number, field: string): void { checkUint(v, 0xffffffff, field); const at = this.room(4); this.view.setUint32(at, v, true); }
  u64(v: bigint, field: string): void {
    if (typeof v !== 'bigint' || v < 0n || v >= TWO64) throw rangeError(field, v, 'a bigint in 0..2^64-1');
    const at = this.room(8);
    this.view.setBigUint64(at, v, true);
  }

  str(s: string, field: string): void {
    const b = stringBytes(s, field);
    const lenAt = this.room(2);
    this.view.setUint16(lenAt, b.length, true);
    const at = this.room(b.length);
    this.buf.set(b, at);
  }

  qid(q: Qid, field: string): void {
    if (q === null || typeof q !== 'object') throw rangeError(field, q, 'a qid');
    this.u8(q.type, `${field}.type`);
    this.u32(q.version, `${field}.version`);
    this.u64(q.path, `${field}.path`);
  }

  bytes(b: Uint8Array, field: string): void {
    if (!(b instanceof Uint8Array)) throw rangeError(field, b, 'a Uint8Array');
    const at = this.room(b.length);
    this.buf.set(b, at);
  }

  /** count[4] then the bytes. */
  data(b: Uint8Array, field: string): void {
    if (!(b instanceof Uint8Array)) throw rangeError(field, b, 'a Uint8Array');
    this.u32(b.length, `${field} count`);
    this.bytes(b, field);
  }

  /** Overwrites a u32 already written (the frame's size[4]). */
  patchU32(at: number, v: number): void {
    checkUint(v, 0xffffffff, 'size');
    this.view.setUint32(at, v, true);
  }

  patchU16(at: number, v: number, field: string): void {
    checkUint(v, 0xffff, field);
    this.view.setUint16(at, v, true);
  }

  /** The written bytes as a Buffer sharing this Writer's memory (no copy). */
  finish(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.pos);
  }
}
