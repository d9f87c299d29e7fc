// Node identities for TLS tests: a fresh ed25519 key each, with its certificate (base/tls).
import { generateKeyPairSync } from 'node:crypto';
import { identityFromKey } from '../../core/identity.ts';
import type { Identity } from '../../core/types.ts';
import type { TlsCredentials } from '../../base/tls/cert.ts';

export interface TestNode { identity: Identity; key: string; creds: TlsCredentials }

export async function testNode(): Promise<TestNode> {
  const identity = identityFromKey(generateKeyPairSync('ed25519').privateKey);
  return { identity, key: identity.publicKey, creds: await identity.tls() };
}

export { within } from './deadline.ts';

/** The error `p` rejects with (fails the test when it resolves). */
export async function rejection(p: Promise<unknown>, what: string): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error(`${what} should have failed`);
}
