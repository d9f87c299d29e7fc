// A self-signed X.509 certificate bound to the node's ed25519 key, for TLS 1.3 between nodes.
// The certificate carries nothing a peer trusts by itself: peers pin the raw ed25519 key (the
// one in DHT records, the seed's directory and configs) and compare it with the certificate's
// (pin.ts); TLS 1.3's CertificateVerify proves the peer holds the matching private key. Made
// with @peculiar/x509 over Node's WebCrypto (Ed25519 is supported there from Node 20), so no
// ASN.1 is written here. It is cheap (one ed25519 signature), so it is made once per process
// and never stored: a restarted node presents a fresh one, valid from an hour ago for a year.
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import * as x509 from '@peculiar/x509';
import { createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { tlsError } from './errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TlsCredentials {
  /** PEM, PKCS#8: the node's ed25519 private key. */
  key: string;
  /** PEM: the self-signed certificate of the same key. */
  cert: string;
  /** Raw ed25519 public key, 64 hex digits (what peers pin). */
  publicKey: string;
}

const ALG = { name: 'Ed25519' };
const HOUR = 3600_000;

/** Makes the certificate for `privateKey` (an ed25519 KeyObject); `name` goes into its CN. */
export async function selfSignedCredentials(privateKey: KeyObject, name = 'cheshire-node'): Promise<TlsCredentials> {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw tlsError('CHS_ERR_TLS_KEY', `a TLS certificate needs an ed25519 key, got ${privateKey.asymmetricKeyType}`);
  const pub = createPublicKey(privateKey);
  const spki = pub.export({ format: 'der', type: 'spki' });
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey.export({ format: 'der', type: 'pkcs8' }), ALG, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', spki, ALG, true, ['verify']),
  };
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'), // positive
    name: `CN=${name.replace(/[,=+<>#;"\\]/g, '_')}`,
    notBefore: new Date(now - HOUR),
    notAfter: new Date(now + 365 * 24 * HOUR),
    keys,
    signingAlgorithm: ALG,
  });
  return {
    key: privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    cert: cert.toString('pem'),
    publicKey: spki.subarray(-32).toString('hex'),
  };
}
