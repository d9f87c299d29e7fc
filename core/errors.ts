// The one registry of Cheshire's error codes (after fastify's FST_ERR_*): every error the host
// raises on purpose is a CheshireError with a stable `code`; test/errors.test.ts checks that
// each code is documented in docs/errors.md.

export class CheshireError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
    this.name = 'CheshireError';
  }
}

/** code -> one-line meaning; the keys are the complete set of codes. */
export const ERROR_CODES = {
  CHS_ERR_DESCRIPTOR_INVALID: 'a module descriptor (package.json "cheshire" field) is missing or malformed',
  CHS_ERR_MODULE_NOT_FOUND: 'a role or command names a module that no module directory holds',
  CHS_ERR_MODULE_LOAD: 'a module\'s code failed to compile or evaluate',
  CHS_ERR_MODULE_NO_START: 'a module\'s entry does not export a start(ctx) function',
  CHS_ERR_MODULE_START: 'a module threw or rejected in start(ctx)',
  CHS_ERR_MODULE_STOP: 'a module\'s teardown threw or rejected',
  CHS_ERR_START_TIMEOUT: 'a module\'s start(ctx) did not settle in time',
  CHS_ERR_STOP_TIMEOUT: 'a module\'s teardown did not settle in time',
  CHS_ERR_MODULE_CRASH: 'a module\'s own callback threw or rejected after start',
  CHS_ERR_MODULE_FAILED: 'a module crashed too often and was given up on',
  CHS_ERR_MODULE_TEST: 'a module\'s tests failed before activation',
  CHS_ERR_DEP_CYCLE: 'the required services of the planned modules form a cycle',
  CHS_ERR_DEP_MISSING: 'no module provides a service in a required version range',
  CHS_ERR_DEP_UNAVAILABLE: 'a dynamic dependency was called while its provider was away, past the wait bound',
  CHS_ERR_CONFIG_INVALID: 'a config value does not match its schema',
  CHS_ERR_CONFIG_PARSE: 'a config file is not valid JSON',
  CHS_ERR_ROLE_NOT_FOUND: 'the configured role has no preset in config/roles',
  CHS_ERR_REVISION_NOT_FOUND: 'a config revision number does not exist',
  CHS_ERR_INSTANCE_NOT_FOUND: 'a command names a module instance the node does not run',
  CHS_ERR_9P_CODEC: 'a 9P frame is malformed, truncated, too large, or not valid in the session\'s dialect',
  CHS_ERR_MOUNT_INVALID: 'a module asked to mount a subtree at an invalid or already taken path',
  CHS_ERR_ACCESS_POLICY: 'a server was asked to listen beyond loopback without an access policy (allow-list or secret)',
  CHS_ERR_NODE_UNREACHABLE: 'the CLI found no Cheshire node (or 9P server) listening at the address it was given',
  CHS_ERR_9P_REMOTE: 'the 9P peer answered a request with Rerror/Rlerror (see ename and errno)',
  CHS_ERR_9P_CLOSED: 'the 9P connection closed while a request was in flight or before it was sent',
  CHS_ERR_9P_ABORTED: 'a 9P request was aborted by its AbortSignal (Tflush sent)',
  CHS_ERR_9P_TIMEOUT: 'connecting or negotiating a 9P version did not finish in time',
  CHS_ERR_9P_VERSION: 'the peer refused or downgraded the 9P version we asked for',
  CHS_ERR_9P_PROTOCOL: 'the peer sent a reply that breaks the protocol (wrong type, unknown tag, bad msize)',
  CHS_ERR_9P_ARGUMENT: 'a 9P client or server API was called with an invalid argument',
  CHS_ERR_9P_LISTEN: 'the 9P server could not listen on its address',
  CHS_ERR_9P_TREE_FAULT: 'a file tree handler threw something other than a NineError, or a reply could not be encoded (the client got EIO)',
  CHS_ERR_IDENTITY: 'the node key file is unreadable, not an ed25519 key, or readable by others',
  CHS_ERR_HOST_STOPPED: 'an operation was asked of a host that is shutting down',
  CHS_ERR_FILESERVER_ASSETS: 'the fileserver could not read its assets directory, or it exceeds assetsMaxBytes',
  CHS_ERR_FILESERVER_VERSION: 'a fileserver version manifest names a bad version or path, or an object the store lacks',
  CHS_ERR_FILESERVER_VHOST: 'a fileserver virtual host edit names a bad host or key, or an object the store lacks',
  CHS_ERR_FILESERVER_NAME: 'a name given to the fileserver store is not a clean relative path',
  CHS_ERR_DHT_BIND: 'a DHT module could not bind its UDP socket on the configured address and port',
  CHS_ERR_DHT_POLICY: 'a DHT address (bootstrap node, allow entry) is refused by or invalid for the address policy',
  CHS_ERR_DHT_ARGUMENT: 'a DHT operation or ctl command got an invalid argument (infohash, HOST:PORT, value too large)',
  CHS_ERR_DHT_TIMEOUT: 'a DHT operation (bootstrap, put, get, announce, lookup) did not finish in time',
  CHS_ERR_DHT_CLOSED: 'a DHT operation was asked of a node that is shutting down',
  CHS_ERR_SEED_PROTOCOL: 'a message on the seed\'s meta port is malformed or out of order',
  CHS_ERR_SEED_SIGNATURE: 'a node\'s introduction to the seed is not signed by the key it names',
  CHS_ERR_SEED_REPLAY: 'a node\'s introduction was made for another connection (challenge nonce) or its timestamp is too far off',
  CHS_ERR_SEED_UNTRUSTED: 'the seed does not trust the node\'s key (not in its trust list, no valid join token)',
  CHS_ERR_SEED_HEARTBEAT: 'a node missed its heartbeats and was dropped from the seed\'s directory',
  CHS_ERR_SEED_REFUSED: 'the seed refused this node (the reason the seed gave follows)',
  CHS_ERR_SEED_COMMAND: 'a command written to /seed/ctl is unknown or malformed',
  CHS_ERR_PROXY_NO_ROUTE: 'the proxy has no live node for the request\'s Host and path (answered 503)',
  CHS_ERR_PROXY_UPSTREAM: 'the proxy could not reach a node or the node broke the exchange (answered 502)',
  CHS_ERR_PROXY_TIMEOUT: 'a node did not answer the proxy in time (answered 504)',
  CHS_ERR_PROXY_BAD_REQUEST: 'the proxy got a malformed, ambiguous or oversized request head (answered 400/431)',
  CHS_ERR_PROXY_TLS: 'the proxy\'s TLS certificate or key could not be read or used',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function chsError(code: ErrorCode, message: string, cause?: unknown): CheshireError {
  return new CheshireError(code, message, cause === undefined ? undefined : { cause });
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}
