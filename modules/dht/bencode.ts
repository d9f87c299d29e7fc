// Bencode for BEP 44 values. Encoding a value as the KRPC decoder hands it over (byte strings as
// Buffers, integers, lists, dicts with string keys) gives the bytes three things depend on: an
// immutable item's target (sha1 of the bencoded v), the bytes a mutable item's signature covers,
// and the 1000-byte limit, which BEP 44 puts on the bencoded form of v. Decoding (canonical input
// only) is for values written on the ctl as bencoded:…. Pure, no I/O.

/** A decoded bencode value. */
export type BValue = Buffer | Uint8Array | string | number | BValue[] | { [key: string]: BValue };

function encodeInto(v: BValue, out: Buffer[]): void {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new TypeError(`bencode: ${v} is not an integer`);
    out.push(Buffer.from(`i${v}e`));
  } else if (typeof v === 'string' || v instanceof Uint8Array) {
    const b = typeof v === 'string' ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    out.push(Buffer.from(`${b.length}:`), b);
  } else if (Array.isArray(v)) {
    out.push(Buffer.from('l'));
    for (const x of v) encodeInto(x, out);
    out.push(Buffer.from('e'));
  } else if (v !== null && typeof v === 'object') {
    out.push(Buffer.from('d'));
    // Keys sorted as raw byte strings, as the format requires.
    const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const k of keys) {
      encodeInto(k, out);
      encodeInto(v[k]!, out);
    }
    out.push(Buffer.from('e'));
  } else {
    throw new TypeError(`bencode: cannot encode ${v === null ? 'null' : typeof v}`);
  }
}

export function bencode(v: BValue): Buffer {
  const out: Buffer[] = [];
  encodeInto(v, out);
  return Buffer.concat(out);
}

/** Whether `v` has a bencoding at all (what a peer sent may hold anything the decoder makes). */
export function isBValue(v: unknown, depth = 0): v is BValue {
  if (depth > 32) return false;
  if (typeof v === 'number') return Number.isSafeInteger(v);
  if (typeof v === 'string' || v instanceof Uint8Array) return true;
  if (Array.isArray(v)) return v.every((x) => isBValue(x, depth + 1));
  if (v !== null && typeof v === 'object') return Object.values(v).every((x) => isBValue(x, depth + 1));
  return false;
}

/**
 * Decodes one complete bencoded value (byte strings as Buffers, dict keys as UTF-8 strings).
 * Only the canonical form is accepted (sorted unique keys, no leading zeros, no -0), so that
 * encoding the result gives back exactly `buf`: what is signed or hashed is what is sent.
 */
export function bdecode(buf: Uint8Array): BValue {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  const fail = (why: string): never => { throw new SyntaxError(`${why} at offset ${at}`); };
  const digitsUntil = (end: number): string => {
    const i = b.indexOf(end, at);
    if (i < 0) fail('unterminated number');
    const s = b.subarray(at, i).toString('latin1');
    at = i + 1;
    return s;
  };
  const value = (depth: number): BValue => {
    if (depth > 32) fail('nested too deeply');
    const c = b[at];
    if (c === undefined) return fail('unexpected end');
    if (c === 0x69) { // i<digits>e
      at++;
      const s = digitsUntil(0x65);
      if (!/^(0|-?[1-9][0-9]*)$/.test(s)) fail(`bad integer "${s}"`);
      const n = Number(s);
      if (!Number.isSafeInteger(n)) fail(`integer ${s} out of range`);
      return n;
    }
    if (c === 0x6c || c === 0x64) { // l...e, d...e
      at++;
      const list: BValue[] = [];
      const dict: Record<string, BValue> = {};
      let last: Buffer | null = null;
      while (b[at] !== 0x65) {
        if (c === 0x6c) { list.push(value(depth + 1)); continue; }
        const key = value(depth + 1);
        if (!Buffer.isBuffer(key)) fail('dictionary key is not a string');
        const k = key as Buffer;
        if (last && Buffer.compare(last, k) >= 0) fail('dictionary keys not sorted and unique');
        const name = k.toString('utf8');
        if (!Buffer.from(name, 'utf8').equals(k)) fail('dictionary key is not UTF-8');
        last = k;
        // defineProperty: a key such as "__proto__" stays an ordinary key
        Object.defineProperty(dict, name, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
      }
      at++;
      return c === 0x6c ? list : dict;
    }
    if (c >= 0x30 && c <= 0x39) { // <length>:<bytes>
      const s = digitsUntil(0x3a);
      if (!/^(0|[1-9][0-9]*)$/.test(s)) fail(`bad string length "${s}"`);
      const n = Number(s);
      if (at + n > b.length) fail('string runs past the end');
      const out = Buffer.from(b.subarray(at, at + n));
      at += n;
      return out;
    }
    return fail(`unexpected byte 0x${c.toString(16)}`);
  };
  const v = value(0);
  if (at !== b.length) fail('trailing bytes after the value');
  return v;
}
