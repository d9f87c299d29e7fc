// Who may join: keys listed in the seed's config, the key of the node the seed runs on, or any key
// presenting one of the configured join tokens (compared in constant time).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Intro } from './protocol.ts';

export interface TrustConfig {
  trust: string[];
  joinTokens: string[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function makeTrust(config: TrustConfig, ownKey: string | null): (intro: Intro) => string | null {
  const keys = new Set(config.trust.map((k) => k.toLowerCase()));
  if (ownKey) keys.add(ownKey);
  const tokens = config.joinTokens.map(digest);
  return (intro) => {
    if (keys.has(intro.publicKey)) return null;
    if (intro.token !== undefined) {
      const d = digest(intro.token);
      if (tokens.some((t) => timingSafeEqual(t, d))) return null;
      return `node "${intro.node}" presented a join token the seed does not know`;
    }
    return `node "${intro.node}" has key ${intro.publicKey} which the seed does not trust: add it to the seed's "trust" list or give the node a join token`;
  };
}
