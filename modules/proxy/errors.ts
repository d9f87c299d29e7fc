// The proxy module's error codes, declared into Cheshire's one registry (documented in docs/errors.md).
import { defineErrors } from 'cheshire/sdk';

export const PROXY_ERROR_CODES = {
  CHS_ERR_PROXY_NO_ROUTE: 'the proxy has no live node for the request\'s Host and path (answered 503)',
  CHS_ERR_PROXY_UPSTREAM: 'the proxy could not reach a node or the node broke the exchange (answered 502)',
  CHS_ERR_PROXY_TIMEOUT: 'a node did not answer the proxy in time (answered 504)',
  CHS_ERR_PROXY_BAD_REQUEST: 'the proxy got a malformed, ambiguous or oversized request head (answered 400/431)',
  CHS_ERR_PROXY_TLS: 'the proxy\'s TLS certificate or key could not be read or used',
} as const;

export const proxyError = defineErrors(PROXY_ERROR_CODES);
