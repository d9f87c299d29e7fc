// One port for TLS and plaintext 9P: a TLS connection opens with a handshake record (content type
// 0x16, version 0x03 0x0N), while a 9P connection opens with Tversion, whose first 4 bytes are
// its little-endian size (a few dozen bytes: byte 0 is small, byte 1 is 0). The first byte decides.
import { isLoopback, normalizeAddress } from '../peer.ts';
import { tlsError } from './errors.ts';

/** Whether a connection's first bytes are a TLS handshake record. */
export function startsTls(first: Uint8Array): boolean {
  return first.length > 0 && first[0] === 0x16;
}

export interface PlaintextPolicy {
  /** Plaintext from any address (config `plaintext: true`); default only loopback. */
  plaintext?: boolean;
  /** Which addresses count as this machine (default 127.0.0.0/8 and ::1); tests may narrow it. */
  isLocal?: (address: string) => boolean;
}

/** Undefined when a plaintext link with `address` is allowed, else the CHS_ERR_TLS_PLAINTEXT error to refuse it with. */
export function plaintextRefusal(address: string | undefined, policy: PlaintextPolicy, what: string): Error | undefined {
  if (policy.plaintext) return undefined;
  const a = normalizeAddress(address);
  if ((policy.isLocal ?? isLoopback)(a)) return undefined;
  return tlsError('CHS_ERR_TLS_PLAINTEXT', `${what}: plaintext from ${a} refused: links from other machines must use TLS (set "plaintext": true to allow it)`);
}
