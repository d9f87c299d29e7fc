// The trust list of a DHT module: whose export descriptions findExports uses besides our own.
// An entry is a 64-hex-digit ed25519 public key, or "*": any key whose signature verifies. The
// wildcard is deliberately supported (documented, and useful on a DHT nobody else can reach:
// loopback, a closed LAN, which is all the address policy lets a node talk to unless told
// otherwise) and refused on a node that joins the public DHT (allowPublic), where it would let
// any stranger say where a path is served. A forged or tampered description is refused either way.
import { dhtError } from './errors.ts';

export const WILDCARD = '*';

/** Validates `trust` for module `id`; returns it with keys in lower case. Throws CHS_ERR_DHT_TRUST. */
export function parseTrust(id: string, trust: readonly string[], opts: { publicDht: boolean }): string[] {
  const out: string[] = [];
  for (const t of trust) {
    if (t === WILDCARD) {
      if (opts.publicDht) {
        throw dhtError('CHS_ERR_DHT_TRUST', `${id}: trust ["*"] would accept any stranger's export descriptions on the public DHT (allowPublic is on); list the public keys to trust instead`);
      }
    } else if (!/^[0-9a-fA-F]{64}$/.test(t)) {
      throw dhtError('CHS_ERR_DHT_TRUST', `${id}: trust entry "${t}" is neither "*" nor a 64-hex-digit public key`);
    }
    out.push(t.toLowerCase());
  }
  return out;
}
