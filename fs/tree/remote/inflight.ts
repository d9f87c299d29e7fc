// Requests to the remote that concurrent callers share: a getattr of a node, a lookup of a name.
// A caller joins one in flight only on the same connection and in the same cache generation
// (LinkCache.gen): one begun before a change made through the relay may answer from before it,
// and the caller after the change must see it. With the cache off (attrMs 0) nothing is shared:
// every request asks the remote itself.

import type { Link } from './link.ts';

interface Pending<V> { readonly link: Link; readonly gen: number; readonly p: Promise<V> }

export class InFlight<K, V> {
  private readonly pending = new Map<K, Pending<V>>();

  /** `fn`'s answer for `key`, or the one of a request for `key` already in flight that may stand for it. */
  run(key: K, link: Link, gen: number, shared: boolean, fn: () => Promise<V>): Promise<V> {
    const f = this.pending.get(key);
    if (shared && f && f.link === link && f.gen === gen) return f.p;
    const p = fn();
    if (!shared) return p;
    const mine: Pending<V> = { link, gen, p };
    this.pending.set(key, mine);
    const done = (): void => { if (this.pending.get(key) === mine) this.pending.delete(key); };
    p.then(done, done);
    return p;
  }
}
