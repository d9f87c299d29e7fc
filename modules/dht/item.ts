// BEP 44 mutable items: the bytes a signature covers, the target a (key, salt) pair is stored
// under, and signing/verifying with ed25519 keys (the node identity signs, anyone verifies).
import { createHash } from 'node:crypto';
import { verifySignature } from 'cheshire/sdk';

export const MAX_VALUE_BYTES = 1000;
export const MAX_SALT_BYTES = 64;

export function sha1(data: Uint8Array | string): Buffer {
  return createHash('sha1').update(data).digest();
}

function bstr(b: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(`${b.length}:`), Buffer.from(b)]);
}

/** The signed bytes: bencode of { salt?, seq, v } without the outer `d...e` (v a byte string). */
export function signedBytes(value: Uint8Array, seq: number, salt?: Uint8Array): Buffer {
  const parts: Buffer[] = [];
  if (salt && salt.length > 0) parts.push(Buffer.from('4:salt'), bstr(salt));
  parts.push(Buffer.from(`3:seqi${seq}e`), Buffer.from('1:v'), bstr(value));
  return Buffer.concat(parts);
}

/** Target (the DHT key) of a mutable item: sha1(publicKey + salt). */
export function mutableTarget(publicKey: Uint8Array | string, salt?: Uint8Array): Buffer {
  const k = typeof publicKey === 'string' ? Buffer.from(publicKey, 'hex') : Buffer.from(publicKey);
  return sha1(salt && salt.length > 0 ? Buffer.concat([k, salt]) : k);
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
export interface MutableItem {
  /** Raw 32-byte ed25519 public key. */
  k: Buffer;
  salt?: Buffer;
  seq: number;
  v: Buffer;
  sig: Buffer;
}

/** Checks the signature of an item as received (salt as given by the asker). */
export function itemValid(item: { k?: Buffer; sig?: Buffer; seq?: number; v?: Buffer }, salt?: Buffer): boolean {
  if (!item.k || !item.sig || !item.v || typeof item.seq !== 'number') return false;
  return verifyItem(item.sig, signedBytes(item.v, item.seq, salt), item.k);
}
