// BEP 44 items: the bytes a mutable item's signature covers, the target an item is stored under
// (mutable: sha1(publicKey + salt); immutable: sha1(bencoded value)), the size limits, and
// signing/verifying with ed25519 keys (the node identity signs, anyone verifies).
import { createHash } from 'node:crypto';
import { verifySignature } from 'cheshire/sdk';
import { bdecode, bencode, isBValue, type BValue } from './bencode.ts';
import { dhtError } from './errors.ts';

/** BEP 44: the bencoded form of v may be at most 1000 bytes; a salt at most 64. */
export const MAX_VALUE_BYTES = 1000;
export const MAX_SALT_BYTES = 64;

export function sha1(data: Uint8Array | string): Buffer {
  return createHash('sha1').update(data).digest();
}

function bstr(b: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${b.length}:`), Buffer.from(b)]);
}

/**
 * An item's value. Almost always a byte string (`v`); a peer may have stored any bencoded value,
 * which is then kept as its bencoded form with `encoded: true`.
 */
export interface ItemValue {
  v: Buffer;
  encoded?: true;
}

/** The bencoded form of a value. */
export const bencodedValue = (x: ItemValue): Buffer => (x.encoded ? x.v : bstr(x.v));

/** A value as the KRPC decoder gave it -> ItemValue (null if it has no bencoding). */
export function itemValue(v: unknown): ItemValue | null {
  if (v instanceof Uint8Array) return { v: Buffer.from(v) };
  if (v === undefined || !isBValue(v)) return null;
  return { v: bencode(v), encoded: true };
}

/** The value as it goes on the wire (the KRPC encoder bencodes it again, to the same bytes). */
export const wireValue = (x: ItemValue): BValue => (x.encoded ? bdecode(x.v) : x.v);

/** The signed bytes: bencode of { salt?, seq, v } without the outer `d...e`. */
export function signedBytes(value: Uint8Array, seq: number, salt?: Uint8Array, encoded?: boolean): Buffer {
  const parts: Buffer[] = [];
  if (salt && salt.length > 0) parts.push(Buffer.from('4:salt'), bstr(salt));
  parts.push(Buffer.from(`3:seqi${seq}e`), Buffer.from('1:v'), encoded ? Buffer.from(value) : bstr(value));
  return Buffer.concat(parts);
}

/** Target (the DHT key) of a mutable item: sha1(publicKey + salt). */
export function mutableTarget(publicKey: Uint8Array | string, salt?: Uint8Array): Buffer {
  const k = typeof publicKey === 'string' ? Buffer.from(publicKey, 'hex') : Buffer.from(publicKey);
  return sha1(salt && salt.length > 0 ? Buffer.concat([k, salt]) : k);
}

/** Target of an immutable item: sha1 of its bencoded value. */
export const immutableTarget = (x: ItemValue): Buffer => sha1(bencodedValue(x));

/** Refuses a salt over 64 bytes (CHS_ERR_DHT_SALT_TOO_LONG). */
export function checkSalt(salt: Uint8Array | undefined): void {
  if (salt && salt.length > MAX_SALT_BYTES) {
    throw dhtError('CHS_ERR_DHT_SALT_TOO_LONG', `the salt is ${salt.length} bytes; BEP 44 allows at most ${MAX_SALT_BYTES}`);
  }
}

/** Refuses a value whose bencoded form is over 1000 bytes (CHS_ERR_DHT_VALUE_TOO_LARGE). */
export function checkValue(x: ItemValue, what = 'the value'): void {
  const n = bencodedValue(x).length;
  if (n > MAX_VALUE_BYTES) {
    throw dhtError('CHS_ERR_DHT_VALUE_TOO_LARGE', `${what} is ${n} bytes bencoded (${x.v.length} bytes${x.encoded ? '' : ' of data'}); BEP 44 allows at most ${MAX_VALUE_BYTES}`);
  }
}

/** bittorrent-dht's verify(signature, message, publicKey) with Node's ed25519. */
export function verifyItem(signature: Buffer, message: Buffer, publicKey: Buffer): boolean {
  try {
    return signature.length === 64 && publicKey.length === 32 && verifySignature(publicKey, message, signature);
  } catch {
    return false;
  }
}

/** A mutable item as stored and served. */
export interface MutableItem extends ItemValue {
  /** Raw 32-byte ed25519 public key. */
  k: Buffer;
  salt?: Buffer;
  seq: number;
  sig: Buffer;
}

/** Checks the signature of an item as received (salt as given by the asker). */
export function itemValid(item: { k?: Buffer; sig?: Buffer; seq?: number; v?: Buffer; encoded?: true }, salt?: Buffer): boolean {
  if (!item.k || !item.sig || !item.v || typeof item.seq !== 'number') return false;
  return verifyItem(item.sig, signedBytes(item.v, item.seq, salt, item.encoded), item.k);
}
