// The dht module's error codes, declared into Cheshire's one registry (documented in docs/errors.md).
import { defineErrors } from 'cheshire/sdk';

export const DHT_ERROR_CODES = {
  CHS_ERR_DHT_BIND: 'a DHT module could not bind its UDP socket on the configured address and port',
  CHS_ERR_DHT_POLICY: 'a DHT address (bootstrap node, allow entry) is refused by or invalid for the address policy',
  CHS_ERR_DHT_ARGUMENT: 'a DHT operation or ctl command got an invalid argument (infohash, HOST:PORT, value too large)',
  CHS_ERR_DHT_TIMEOUT: 'a DHT operation (bootstrap, put, get, announce, lookup) did not finish in time',
  CHS_ERR_DHT_CLOSED: 'a DHT operation was asked of a node that is shutting down',
  CHS_ERR_DHT_HEX: 'a DHT ctl argument written hex:… is not an even number of hex digits',
  CHS_ERR_DHT_BENCODE: 'a DHT ctl value written bencoded:… is not one complete, canonical bencoded value',
  CHS_ERR_DHT_SALT_TOO_LONG: 'a BEP 44 salt is over 64 bytes',
  CHS_ERR_DHT_VALUE_TOO_LARGE: 'a BEP 44 value is over 1000 bytes in its bencoded form',
  CHS_ERR_DHT_TRUST: 'a DHT trust entry is neither a 64-hex-digit public key nor "*", or "*" is given to a node that joins the public DHT',
} as const;

export const dhtError = defineErrors(DHT_ERROR_CODES);
