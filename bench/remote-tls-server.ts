// A server process for bench/remote-tls.ts (the client runs in a process of its own):
//   node --import tsx bench/remote-tls-server.ts inner PORT BULK_MIB SMALL_FILES KEY_PEM
//     our NineServer over a memfs (`big`, `small/f0..`) with TLS (the certificate of KEY_PEM's
//     ed25519 key) and plaintext on the same port, as styx-root serves
//   node --import tsx bench/remote-tls-server.ts relay PORT REMOTE_PORT KEY_PEM [REMOTE_KEY]
//     a graft: our NineServer (plaintext, loopback) whose tree is a RemoteTree to REMOTE_PORT,
//     over TLS pinned to REMOTE_KEY when given, else plaintext
// Prints "READY <port>" once listening; exits on SIGTERM/SIGINT after closing.
import { readFile } from 'node:fs/promises';
import { createPrivateKey } from 'node:crypto';
import { identityFromKey } from '../core/identity.ts';
import { NineServer } from '../fs/server/server.ts';
import { RemoteTree } from '../fs/tree/remote.ts';
import type { Node } from '../fs/tree/types.ts';
import { benchMemTree } from './tree-server.ts';

const [kind, portArg, a, b, c] = process.argv.slice(2);
const port = Number(portArg ?? 0);
let tree: Node;
let relay: RemoteTree | undefined;
let server: NineServer;
if (kind === 'inner') {
  const identity = identityFromKey(createPrivateKey(await readFile(c!, 'utf8')));
  const bulkMiB = Number(a ?? 16);
  const files = Number(b ?? 1000);
  tree = benchMemTree(bulkMiB, files);
  server = new NineServer({ attach: () => tree, onError: (e) => console.error(e), tls: { credentials: await identity.tls() } });
} else if (kind === 'relay') {
  const identity = identityFromKey(createPrivateKey(await readFile(b!, 'utf8')));
  const tls = c ? { credentials: await identity.tls(), expectKey: c } : undefined;
  relay = await RemoteTree.connect({ port: Number(a), cache: { pipeline: true }, ...(tls ? { tls } : {}) });
  tree = relay.root;
  server = new NineServer({ attach: () => tree, onError: (e) => console.error(e) });
} else {
  throw new Error('usage: remote-tls-server.ts inner PORT BULK_MIB SMALL_FILES KEY_PEM | relay PORT REMOTE_PORT KEY_PEM [REMOTE_KEY]');
}
const addr = await server.listen(port, '127.0.0.1');
console.log(`READY ${addr.port}`);
const stop = (): void => { void Promise.allSettled([server.close(), relay?.close()]).then(() => process.exit(0)); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
