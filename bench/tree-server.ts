// What the benchmark server processes share: a relay tree to another server, and serving a tree
// on 127.0.0.1 until SIGTERM/SIGINT, printing `READY PORT` once listening (bench/lib.ts waitReady).
import { NineServer } from '../fs/server/server.ts';
import { RemoteTree } from '../fs/tree/remote.ts';
import type { Node } from '../fs/tree/types.ts';

/** A RemoteTree to 127.0.0.1:remotePort (aname optional), connected. */
export function relayTo(remotePort: string, aname?: string): Promise<RemoteTree> {
  return RemoteTree.connect({ port: Number(remotePort), ...(aname ? { aname } : {}) });
}

export async function serveUntilSignal(tree: Node, port: number, relay?: RemoteTree): Promise<void> {
  const server = new NineServer({ attach: () => tree, onError: (e) => console.error(e) });
  const addr = await server.listen(port, '127.0.0.1');
  console.log(`READY ${addr.port}`);
  const stop = (): void => { void Promise.allSettled([server.close(), relay?.close()]).then(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
