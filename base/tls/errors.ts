// The codes of node-to-node TLS (base/tls): declared here, below every floor that dials or
// listens (fs/client, fs/server, the seed modules), into the one registry (base/errors.ts).
import { defineErrors } from '../errors.ts';

export const tlsError = defineErrors({
  CHS_ERR_TLS_PEER_KEY: 'a node-to-node TLS peer presented a certificate whose ed25519 key is not the one pinned for it (the message names the expected and the presented keys), or no certificate',
  CHS_ERR_TLS_PLAINTEXT: 'a plaintext node-to-node link was refused: the peer is not on loopback and the config does not allow plaintext (`plaintext`), or no public key is known to pin',
  CHS_ERR_TLS_HANDSHAKE: 'a TLS handshake between nodes failed or did not finish in time',
  CHS_ERR_TLS_KEY: 'a configured public key to pin is not 64 hex digits, or the node key cannot make a TLS certificate',
});
