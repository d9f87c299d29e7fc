// Node-to-node TLS: certificates bound to the node key, pinning, the plaintext rule, dialling.
export { tlsError } from './errors.ts';
export { selfSignedCredentials, type TlsCredentials } from './cert.ts';
export { checkPeer, peerPublicKey, pinnedKey } from './pin.ts';
export { plaintextRefusal, startsTls, type PlaintextPolicy } from './sniff.ts';
export { dialOptions, dialTls, type TlsDial } from './dial.ts';
