// Shared-secret authentication through Tauth, both halves. The server's auth fid reads as a
// fresh 64-hex-digit nonce; the client writes back hex(HMAC-SHA256(secret, nonce)) and then
// attaches with that afid. The secret itself never crosses the wire.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { E } from '../errors.ts';
import type { AuthConversation } from './auth.ts';

/** The client's answer to a nonce. */
export function answerChallenge(secret: string, nonce: string): string {
  return createHmac('sha256', secret).update(nonce.trim()).digest('hex');
}

/** The server's side of one conversation. */
export function secretConversation(secret: string, uname = 'cheshire'): AuthConversation {
  const nonce = randomBytes(32).toString('hex');
  const expected = Buffer.from(answerChallenge(secret, nonce), 'hex');
  let proven = false;
  let sent = false;
  return {
    read() {
      if (sent) return new Uint8Array(0);
      sent = true;
      return Buffer.from(nonce);
    },
    write(data) {
      const got = Buffer.from(Buffer.from(data).toString('utf8').trim(), 'hex');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) throw E.perm.withText('authentication failed');
      proven = true;
      return data.length;
    },
    result: () => (proven ? { uname } : undefined),
  };
}
