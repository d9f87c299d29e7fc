// Pinning: a node-to-node TLS peer is who it claims only if its certificate's ed25519 key is the
// key we were told to expect (from a signed DHT record, the seed, or config). Node's chain checks
// cannot say that for self-signed certificates, so links set rejectUnauthorized: false and call
// checkPeer once the handshake is done (secureConnect on the dialler, secure on the listener).
import type { TLSSocket } from 'node:tls';
import { tlsError } from './errors.ts';

const HEX64 = /^[0-9a-f]{64}$/;

/** A key to pin, lower-cased; CHS_ERR_TLS_KEY naming `what` when it is not 64 hex digits. */
export function pinnedKey(key: string, what: string): string {
  const k = key.trim().toLowerCase();
  if (!HEX64.test(k)) throw tlsError('CHS_ERR_TLS_KEY', `${what}: public key "${key}" is not 64 hex digits (a raw ed25519 key)`);
  return k;
}

/** The raw ed25519 key (hex) of the peer's certificate; undefined without one or for another key type. */
export function peerPublicKey(socket: TLSSocket): string | undefined {
  const cert = socket.getPeerX509Certificate?.();
  const key = cert?.publicKey;
  if (!key || key.asymmetricKeyType !== 'ed25519') return undefined;
  return key.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex');
}

/**
 * Returns the peer's key when it is one of `expected`; otherwise throws CHS_ERR_TLS_PEER_KEY
 * naming `who`, the expected key(s) and the key presented.
 */
export function checkPeer(socket: TLSSocket, expected: string | readonly string[], who: string): string {
  const want = typeof expected === 'string' ? [expected] : expected;
  const got = peerPublicKey(socket);
  if (got !== undefined && want.includes(got)) return got;
  const exp = want.length === 1 ? `key ${want[0]}` : `one of ${want.length} keys (${want.join(', ')})`;
  throw tlsError('CHS_ERR_TLS_PEER_KEY', `${who}: expected ${exp}, the peer presented ${got === undefined ? 'no ed25519 certificate' : `key ${got}`}`);
}
