// How a graft's link is secured: TLS pinned to the server's key when one is known, plaintext to
// loopback (or where an import allows it), otherwise refused with CHS_ERR_TLS_PLAINTEXT (the
// CHS_ERR_TLS_* codes are the host's, base/tls/errors.ts).
import { CheshireError, isLoopback, type RemoteTreeOptions } from 'cheshire/sdk';
import type { ImportConfig, ServerDef } from './resolver.ts';

export type Credentials = { key: string; cert: string; publicKey: string };

const HEX64 = /^[0-9a-fA-F]{64}$/;
const local = (host: string): boolean => host === 'localhost' || isLoopback(host);

/** Refuses imports that would send plaintext off this machine without saying so. */
export function checkImports(imports: readonly ImportConfig[]): void {
  for (const i of imports) {
    const host = i.address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (!i.publicKey && !i.plaintext && !local(host)) {
      throw new CheshireError('CHS_ERR_TLS_PLAINTEXT', `styx-client import "${i.name}" (${i.address}): a server on another machine needs its "publicKey" (for TLS) or "plaintext": true`);
    }
  }
}

/** The RemoteTree `tls` option for `def` (undefined: plaintext), or a CHS_ERR_TLS_* error. */
export async function linkSecurity(def: ServerDef, host: string, what: string, credentials: () => Promise<Credentials>): Promise<RemoteTreeOptions['tls']> {
  if (def.publicKey === undefined) {
    if (def.plaintext || local(host)) return undefined;
    throw new CheshireError('CHS_ERR_TLS_PLAINTEXT', `${what} (${def.address}): no public key to pin and plaintext to another machine is not allowed`);
  }
  if (!HEX64.test(def.publicKey)) throw new CheshireError('CHS_ERR_TLS_KEY', `${what}: public key "${def.publicKey}" is not 64 hex digits`);
  return { credentials: await credentials(), expectKey: def.publicKey.toLowerCase() };
}
