// A server process for bench/export.ts, so the benchmark's client does not share a process with it:
//   node --import tsx bench/export-server.ts export PORT DIR
//     our NineServer whose tree is exportTree(DIR) (read-only), whatever the aname
//   node --import tsx bench/export-server.ts relay PORT REMOTE_PORT [ANAME]
//     our NineServer whose tree is a RemoteTree relaying to 127.0.0.1:REMOTE_PORT: what a
//     styx-client graft of another node is (modules/styx-client grafts a RemoteTree.root)
// Prints "READY <port>" once listening; exits on SIGTERM/SIGINT after closing.
import { exportTree } from '../fs/tree/export.ts';
import type { RemoteTree } from '../fs/tree/remote.ts';
import { relayTo, serveUntilSignal } from './tree-server.ts';
import type { Node } from '../fs/tree/types.ts';

const [kind, portArg, a, b] = process.argv.slice(2);
const port = Number(portArg ?? 0);
let tree: Node;
let relay: RemoteTree | undefined;
if (kind === 'export' && a) {
  tree = exportTree(a);
} else if (kind === 'relay' && a) {
  relay = await relayTo(a, b, true); // a relay of our export: a Cheshire remote
  tree = relay.root;
} else {
  throw new Error('usage: export-server.ts export PORT DIR | relay PORT REMOTE_PORT [ANAME]');
}
await serveUntilSignal(tree, port, relay);
