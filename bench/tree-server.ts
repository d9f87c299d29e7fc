// What the benchmark server processes share: the in-memory tree they serve, a relay tree to
// another server, and serving a tree on 127.0.0.1 until SIGTERM/SIGINT, printing `READY PORT`
// once listening (bench/lib.ts waitReady).
import { NineServer } from '../fs/server/server.ts';
import { memfs, type MemDir, type MemFile } from '../fs/tree/memfs.ts';
import { RemoteTree } from '../fs/tree/remote.ts';
import type { Node } from '../fs/tree/types.ts';

/** A memfs holding `big` (bulkMiB MiB, each MiB filled with its index) and `small/f0..f{files-1}`. */
export function benchMemTree(bulkMiB: number, files: number): Node {
  const owner = { nUid: 0, nGid: 0, uid: 'bench' };
  const mem = memfs({ maxBytes: (bulkMiB + 8) << 20 });
  const big = mem.create({ name: 'big', dir: false, perm: 0o644, ...owner }) as MemFile;
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < bulkMiB; i++) { chunk.fill(i & 0xff); big.writeAt(i << 20, chunk); }
  const small = mem.create({ name: 'small', dir: true, perm: 0o755, ...owner }) as MemDir;
  for (let i = 0; i < files; i++) (small.create({ name: `f${i}`, dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, Buffer.from(`${i}\n`));
  return mem;
}

/**
 * A RemoteTree to 127.0.0.1:remotePort (aname optional), connected. `pipeline`: lookups send
 * their getattr behind the walk, as styx-client's grafts of other Cheshire nodes do (never for
 * diod: fs/tree/remote/cache.ts).
 */
export function relayTo(remotePort: string, aname: string | undefined, pipeline: boolean): Promise<RemoteTree> {
  return RemoteTree.connect({ port: Number(remotePort), ...(aname ? { aname } : {}), cache: { pipeline } });
}

export async function serveUntilSignal(tree: Node, port: number, relay?: RemoteTree): Promise<void> {
  const server = new NineServer({ attach: () => tree, onError: (e) => console.error(e) });
  const addr = await server.listen(port, '127.0.0.1');
  console.log(`READY ${addr.port}`);
  const stop = (): void => { void Promise.allSettled([server.close(), relay?.close()]).then(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
