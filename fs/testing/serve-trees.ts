// Test helper: a NineServer on a free loopback port whose attach picks a tree by aname, with the
// server's fault reports collected (a test can assert none happened).
import { NineServer } from '../server/server.ts';
import type { Node } from '../tree/types.ts';

/** `trees` is called on every attach, so a test may swap its trees between cases. */
export async function serveTrees(trees: () => Record<string, Node>, faults: unknown[]): Promise<{ server: NineServer; port: number }> {
  const server = new NineServer({
    attach: (r) => {
      const tree = trees()[r.aname];
      if (!tree) throw new Error(`no tree ${r.aname}`);
      return tree;
    },
    onError: (e) => faults.push(e),
  });
  const port = (await server.listen(0, '127.0.0.1')).port;
  return { server, port };
}
