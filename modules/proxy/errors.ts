// The proxy module's error codes, declared into Cheshire's one registry (documented in docs/errors.md).
import { defineErrors } from 'cheshire/sdk';

export const PROXY_ERROR_CODES = {
  CHS_ERR_PROXY_NO_ROUTE: 'the proxy has no live node for the request\'s Host and path (answered 503)',
  CHS_ERR_PROXY_UPSTREAM: 'the proxy could not reach a node or the node broke the exchange (answered 502)',
  CHS_ERR_PROXY_TIMEOUT: 'a node did not answer the proxy in time (answered 504)',
  CHS_ERR_PROXY_BAD_REQUEST: 'the proxy got a malformed, ambiguous or oversized request head, e.g. a header with a bare CR, bare LF or NUL (answered 400/431, never forwarded)',
  CHS_ERR_PROXY_HEAD_TIMEOUT: 'a client did not complete a request head within the proxy\'s headTimeoutMs (answered 408, connection closed)',
  CHS_ERR_PROXY_BODY_TIMEOUT: 'a client\'s request body made no progress for the proxy\'s bodyTimeoutMs (answered 408, or cut if the answer had begun)',
  CHS_ERR_PROXY_REFUSED: 'the proxy refused a connection: too many from its address (429) or in all (503), answered with Connection: close',
  CHS_ERR_PROXY_TLS: 'the proxy\'s TLS certificate or key could not be read or used',
} as const;

export type ProxyErrorCode = keyof typeof PROXY_ERROR_CODES;

export const proxyError = defineErrors(PROXY_ERROR_CODES);
