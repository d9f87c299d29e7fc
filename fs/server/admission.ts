// Admission for the 9P server's connections (server.ts): who counts as the operator, the answer a
// refused connection gets, and a log that says each refusal reason at most once per interval.
//
// Policy (docs/9p.md "Hostile input"): a connection must finish its handshake (Tversion, and
// Tattach when an auth provider is configured) within handshakeMs; one address holds at most
// maxPerAddress connections; strangers (not operator addresses) hold at most maxConnections minus
// a few slots reserved for the operator; a newcomer that finds its limit reached evicts the
// oldest connection that has not finished its handshake (strangers only evict strangers) before
// it is refused. So silent sockets can neither lock the operator out nor outlive handshakeMs.

import { decode, encode, MSG, NOTAG } from '../codec/index.ts';
import type { Tversion } from '../codec/index.ts';

/** The errno a refused 9P2000.L / .u client gets with its Rlerror / Rerror (ECONNREFUSED). */
export const REFUSED_ERRNO = 111;

// Addresses and the rate-limited log are shared with the HTTP modules' admission (core/sdk/http-guard.ts).
export { isLoopback, normalizeAddress } from '../../base/peer.ts';
export { RateLimitedLog } from '../../base/rate-limited-log.ts';

/**
 * The reply to a refused connection's first frame when it is a Tversion: an Rerror carrying
 * `text` (with errno for 9P2000.u) or, for 9P2000.L, an Rlerror with ECONNREFUSED. Undefined
 * for anything else (the connection is then just closed).
 */
export function refusalReply(frame: Uint8Array, text: string): Uint8Array | undefined {
  if (frame.length < 7 || frame[4] !== MSG.Tversion) return undefined;
  let version = '9P2000';
  let tag = NOTAG;
  try {
    const m = decode(frame, '9P2000') as Tversion;
    version = m.version;
    tag = m.tag;
  } catch {
    return undefined;
  }
  if (version.startsWith('9P2000.L')) return encode({ type: 'Rlerror', tag, ecode: REFUSED_ERRNO }, '9P2000.L');
  if (version.startsWith('9P2000.u')) return encode({ type: 'Rerror', tag, ename: text, errno: REFUSED_ERRNO }, '9P2000.u');
  return encode({ type: 'Rerror', tag, ename: text }, '9P2000');
}
