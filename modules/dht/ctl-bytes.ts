// How /dht/ctl spells bytes. A salt or value is written `hex:0a1b…` (bytes, two hex digits each),
// `text:…` (UTF-8, taken verbatim) or as bare text (what the ctl took before the prefixes); a
// value may also be `bencoded:` + the hex of any bencoded value (a dict, a list...). An answer
// shows a value the same way, so what is read back can be written again: printable text as it is
// (`text:` in front when it would be ambiguous), other bytes as hex:…, other values as bencoded:….
import { bdecode, type BValue } from './bencode.ts';
import { dhtError } from './errors.ts';
import type { ItemValue } from './item.ts';

const PREFIXES = ['hex:', 'text:', 'bencoded:'];
const short = (s: string) => (s.length > 40 ? `${s.slice(0, 37)}...` : s);

/** Parses a ctl argument into bytes; a bad hex: argument throws CHS_ERR_DHT_HEX naming `what`. */
export function parseBytes(arg: string, what: string): Buffer {
  if (arg.startsWith('text:')) return Buffer.from(arg.slice(5), 'utf8');
  if (arg.startsWith('bencoded:')) throw dhtError('CHS_ERR_DHT_ARGUMENT', `${what} "${short(arg)}": a ${what} is a byte string; write it hex:… or text:…`);
  if (!arg.startsWith('hex:')) return Buffer.from(arg, 'utf8');
  const hex = arg.slice(4);
  const bad = /[^0-9a-fA-F]/.exec(hex);
  if (bad) throw dhtError('CHS_ERR_DHT_HEX', `${what} "${short(arg)}": ${JSON.stringify(bad[0])} at offset ${bad.index} is not a hex digit`);
  if (hex.length % 2) throw dhtError('CHS_ERR_DHT_HEX', `${what} "${short(arg)}": ${hex.length} hex digits, not an even number (two per byte)`);
  return Buffer.from(hex, 'hex');
}

/** Parses a ctl value: bytes as parseBytes, or `bencoded:HEX`, any bencoded value (CHS_ERR_DHT_BENCODE). */
export function parseValue(arg: string, what = 'value'): ItemValue {
  if (!arg.startsWith('bencoded:')) return { v: parseBytes(arg, what) };
  const v = parseBytes(`hex:${arg.slice(9)}`, what);
  let decoded: BValue;
  try {
    decoded = bdecode(v);
  } catch (err) {
    throw dhtError('CHS_ERR_DHT_BENCODE', `${what} "${short(arg)}" is not one canonical bencoded value: ${(err as Error).message}`);
  }
  return Buffer.isBuffer(decoded) ? { v: decoded } : { v, encoded: true };
}

// Control characters (C0, DEL, C1), line and paragraph separators, and bidi overrides/isolates
// would make a terminal show something other than the bytes; such values are shown in hex.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `b` if it is valid UTF-8 and safe to print, else null. */
export function printable(b: Uint8Array): string | null {
  try {
    const t = utf8.decode(b);
    return UNSAFE.test(t) || t.includes('\ufffd') ? null : t;
  } catch {
    return null;
  }
}

/** One line showing a value in the syntax the ctl accepts. */
export function showValue(x: ItemValue): string {
  if (x.encoded) return `bencoded:${x.v.toString('hex')}`;
  const t = printable(x.v);
  // Spaces at either end would not survive a ctl line (it is trimmed): hex keeps them.
  if (t === null || t.trim() !== t) return `hex:${x.v.toString('hex')}`;
  return t === '' || PREFIXES.some((p) => t.startsWith(p)) ? `text:${t}` : t;
}
