// The seed module's error codes, declared into Cheshire's one registry (documented in docs/errors.md).
import { defineErrors } from 'cheshire/sdk';

export const SEED_ERROR_CODES = {
  CHS_ERR_SEED_PROTOCOL: 'a message on the seed\'s meta port is malformed or out of order',
  CHS_ERR_SEED_SIGNATURE: 'a node\'s introduction to the seed is not signed by the key it names',
  CHS_ERR_SEED_REPLAY: 'a node\'s introduction was made for another connection (challenge nonce) or its timestamp is too far off',
  CHS_ERR_SEED_UNTRUSTED: 'the seed does not trust the node\'s key (not in its trust list, no valid join token)',
  CHS_ERR_SEED_HEARTBEAT: 'a node missed its heartbeats and was dropped from the seed\'s directory',
  CHS_ERR_SEED_REFUSED: 'the seed refused this node (the reason the seed gave follows)',
  CHS_ERR_SEED_COMMAND: 'a command written to /seed/ctl is unknown or malformed',
} as const;

export const seedError = defineErrors(SEED_ERROR_CODES);
