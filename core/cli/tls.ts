// `--key HEX` for the CLI's 9P commands: TLS 1.3 to a node on another machine, pinned to the key
// it must prove (its status' publicKey). The CLI presents this folder's node key when a node has
// run here (so a styx-root `peers` list that admits this node admits its operator too), else a
// one-off key made for this command (enough where `peers` admits any key). Never writes a key.
import { generateKeyPairSync } from 'node:crypto';
import type { TlsDial } from '../../base/tls/dial.ts';
import { tlsError } from '../../base/tls/errors.ts';
import { identityFromKey, loadOrCreateIdentity } from '../identity.ts';

const HEX64 = /^[0-9a-fA-F]{64}$/;

export async function cliTls(key: string, identityFile: string | undefined): Promise<TlsDial> {
  if (!HEX64.test(key)) throw tlsError('CHS_ERR_TLS_KEY', `--key "${key}" is not an ed25519 public key (64 hex digits, the node's status publicKey)`);
  const identity = identityFile ? await loadOrCreateIdentity(identityFile) : identityFromKey(generateKeyPairSync('ed25519').privateKey);
  return { credentials: await identity.tls(), expectKey: key.toLowerCase() };
}
