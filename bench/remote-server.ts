// A server process for bench/remote.ts, so the benchmark's client does not share a CPU with it:
//   node --import tsx bench/remote-server.ts inner PORT BULK_MIB SMALL_FILES
//     our NineServer over a memfs holding `big` (BULK_MIB MiB) and `small/f0..` (SMALL_FILES files)
//   node --import tsx bench/remote-server.ts relay PORT REMOTE_PORT [ANAME]
//     our NineServer whose tree is a RemoteTree relaying to 127.0.0.1:REMOTE_PORT: our server
//     (no ANAME) with pipelined lookups as styx-client's grafts have, diod (ANAME) without
// Prints "READY <port>" once listening; exits on SIGTERM/SIGINT after closing.
import type { RemoteTree } from '../fs/tree/remote.ts';
import { benchMemTree, relayTo, serveUntilSignal } from './tree-server.ts';
import type { Node } from '../fs/tree/types.ts';

const [kind, portArg, a, b] = process.argv.slice(2);
const port = Number(portArg ?? 0);
let tree: Node;
let relay: RemoteTree | undefined;
if (kind === 'inner') {
  const bulkMiB = Number(a ?? 16);
  const files = Number(b ?? 1000);
  tree = benchMemTree(bulkMiB, files);
} else if (kind === 'relay') {
  relay = await relayTo(a, b, b === undefined);
  tree = relay.root;
} else {
  throw new Error('usage: remote-server.ts inner PORT BULK_MIB SMALL_FILES | relay PORT REMOTE_PORT [ANAME]');
}
await serveUntilSignal(tree, port, relay);
