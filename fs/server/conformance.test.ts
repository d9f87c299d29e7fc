// The conformance suite (fs/conformance.ts) against every tree implementation we have.
import { BIG, conformance } from '../conformance.ts';
import { dir, file, root } from '../tree/synthetic.ts';
import { memfs } from '../tree/memfs.ts';
import type { MemFile } from '../tree/memfs.ts';

conformance('synthetic', {
  writable: false,
  make: () => root([
    file('f', { read: () => 'hello\n' }),
    file('big', { read: () => BIG }),
    dir('d', [file('g', { read: () => 'g\n' }), dir('e')]),
  ]),
}).run();

conformance('memfs', {
  writable: true,
  make: () => {
    const r = memfs();
    const owner = { nUid: 0, nGid: 0, uid: 'u' };
    const mk = (d: typeof r, name: string, content: Uint8Array): void => {
      (d.create({ name, dir: false, perm: 0o644, ...owner }) as MemFile).writeAt(0, content);
    };
    mk(r, 'f', Buffer.from('hello\n'));
    mk(r, 'big', BIG);
    const d = r.create({ name: 'd', dir: true, perm: 0o755, ...owner }) as typeof r;
    mk(d, 'g', Buffer.from('g\n'));
    d.create({ name: 'e', dir: true, perm: 0o755, ...owner });
    return r;
  },
}).run();
