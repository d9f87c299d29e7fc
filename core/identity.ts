// The node's long-lived ed25519 identity: created on first start in the state directory (file
// mode 0600, written atomically), loaded afterwards. What the node publishes (DHT items, its
// introduction to a seed) is signed with it; its public key is shown in /status. Its TLS
// certificate (identity.tls()) binds node-to-node links to the same key.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './config/atomic.ts';
import { chsError } from './errors.ts';
import type { TlsCredentials } from '../base/tls/cert.ts';
import type { Identity } from './types.ts';

export type { Identity };

/** Raw 32-byte public key from an ed25519 KeyObject (the last 32 bytes of its SPKI DER). */
export function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(-32);
}

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Verifies an ed25519 signature by a raw (hex or bytes) public key. */
export function verifySignature(publicKey: string | Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  const raw = typeof publicKey === 'string' ? Buffer.from(publicKey, 'hex') : Buffer.from(publicKey);
  if (raw.length !== 32) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  return verify(null, data, key, signature);
}

export function identityFromKey(privateKey: KeyObject): Identity {
  const publicKey = rawPublicKey(createPublicKey(privateKey)).toString('hex');
  // The TLS certificate is made on first use and kept for the life of the process (base/tls/cert.ts,
  // loaded then: a node that never links to another does not load the X.509 library).
  let tls: Promise<TlsCredentials> | undefined;
  return {
    publicKey,
    sign: (data) => sign(null, data, privateKey),
    tls: () => (tls ??= import('../base/tls/cert.ts').then((m) => m.selfSignedCredentials(privateKey, `cheshire-${publicKey.slice(0, 16)}`))),
  };
}

export async function loadOrCreateIdentity(file: string): Promise<Identity> {
  let pem: string | undefined;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (pem !== undefined) {
    const mode = (await stat(file)).mode & 0o777;
    if (mode & 0o077) throw chsError('CHS_ERR_IDENTITY', `${file} is readable by others (mode ${mode.toString(8)}); run chmod 600 ${file}`);
    try {
      return identityFromKey(createPrivateKey(pem));
    } catch (err) {
      throw chsError('CHS_ERR_IDENTITY', `${file} does not hold an ed25519 private key (${(err as Error).message})`, err);
    }
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  return identityFromKey(privateKey);
}
