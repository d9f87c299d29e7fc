// The conformance suite (fs/conformance.ts) against a RemoteTree relaying to our own server over
// a fresh memfs per test, with the relay speaking 9P2000.L, 9P2000.u and plain 9P2000 to the remote. Every
// behaviour of the suite holds through the relay: the outer session owns everything
// protocol-shaped, and the relay passes file operations and their errors on.
import { BIG, conformance } from '../conformance.ts';
import { NineServer } from '../server/server.ts';
import { memfs } from './memfs.ts';
import type { MemDir, MemFile } from './memfs.ts';
import { RemoteTree } from './remote.ts';
import type { Dialect } from '../codec/index.ts';

function fixtureTree(): MemDir {
  const r = memfs();
  const owner = { nUid: 0, nGid: 0, uid: 'u' };
  const mk = (d: MemDir, name: string, content: Uint8Array): void => {
    (d.create({ name, dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, content);
  };
  mk(r, 'f', Buffer.from('hello\n'));
  mk(r, 'big', BIG);
  const d = r.create({ name: 'd', dir: true, perm: 0o755, ...owner }) as MemDir;
  mk(d, 'g', Buffer.from('g\n'));
  d.create({ name: 'e', dir: true, perm: 0o755, ...owner });
  return r;
}

for (const version of ['9P2000.L', '9P2000.u', '9P2000'] as const satisfies readonly Dialect[]) {
  let inner: NineServer | undefined;
  let port = 0;
  let current: MemDir | undefined;
  let relay: RemoteTree | undefined;
  const t = conformance(`remote (${version}) over memfs`, {
    writable: true,
    async make() {
      await relay?.close();
      if (!inner) {
        inner = new NineServer({ attach: () => { if (!current) throw new Error('no tree'); return current; } });
        port = (await inner.listen(0, '127.0.0.1')).port;
      }
      current = fixtureTree();
      relay = await RemoteTree.connect({ port, version, timeoutMs: 3000, reconnect: false });
      return relay.root;
    },
  });
  t.after(async () => {
    await relay?.close();
    await inner?.close();
  });
  t.run();
}
