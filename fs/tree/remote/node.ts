// The Nodes of a RemoteTree: each node is a name under its parent (so a path from the remote
// root) plus the qid the remote gave it.
//
// Fids: a node keeps its own remote fid once walked (remote/cache.ts: a bounded LRU per
// connection), and metadata requests (getattr, setattr, statfs, readlink, and the directory
// requests mkdir, symlink, link, unlinkat, renameat) go straight to it: one round trip, no walk.
// A missing fid is walked from the nearest ancestor that has one (else from the root) and checked
// against our qid. A kept fid the remote calls stale (ESTALE, EBADF; ENOENT for a request on the
// file itself) is dropped and the node walked again by its path once: if that path now leads to
// another qid.path, or nowhere, the node was removed or replaced behind our back, is marked
// removed, and the session answers ESTALE. An open turns the node's kept fid into the handle's
// (no clone round trip). An evicted kept fid is clunked once no request uses it, so the remote
// holds at most `cache.fids` fids for nodes plus those of requests in flight and open files.
//
// With `cache.pipeline` (Cheshire remotes only: LinkCache.pipelining), lookups and the getattr of
// a node without a kept fid send Twalk and Tgetattr (Tstat) of the new fid together, without
// waiting in between; a remote that runs the getattr before the walk answers it with an error,
// the attributes are then asked for when needed, and that connection sends no more of them.
// Attributes and looked-up names are trusted for `cache.attrMs` (remote/cache.ts); an older name
// is confirmed by its directory's unchanged stamp when it can be (remote/revalidate.ts), else
// walked again. Concurrent lookups of a name and getattrs of a node share one request
// (remote/inflight.ts). Changes made through the relay drop what they affect at once.
// docs/exports.md ("Grafts: kept fids and the attribute cache") says what a client may see.
//
// Identity: a directory remembers the children it handed out (weakly), so a rename through us
// moves the very node the session holds (its name and parent change, and everything under it
// follows since paths are computed from the parent chain). Nodes and handles of an earlier
// connection answer ESTALE "remote connection was reset" (their fids died with it); the root
// alone lives on, and a new connection's cache starts empty: kept fids are walked again on it.

import {
  AT_REMOVEDIR, DMDIR, DMSYMLINK, EBADF, EISDIR, ENOENT, ENOTDIR, EOPNOTSUPP, ESTALE, L_O_APPEND, L_O_RDONLY,
  L_O_RDWR, L_O_TRUNC, L_O_WRONLY, MAXWELEM, OAPPEND, OREAD, ORDWR, OTRUNC, OWRITE, P9_GETATTR_BASIC, QTDIR,
  decodeDirents, decodeStats, nullStat,
} from '../../codec/index.ts';
import type { Qid } from '../../codec/index.ts';
import { E, RemoteError } from '../../errors.ts';
import type { Attr, AttrChange, CreateRequest, Handle, Node, OpenMode, StatFs } from '../types.ts';
import { cacheOf, tooManyFids } from './cache.ts';
import type { Kept, LinkCache } from './cache.ts';
import { attrFromGetattr, attrFromStat, remoteErrno, setattrOf, wstatOf } from './convert.ts';
import { RemoteHandle } from './handle.ts';
import { clunkLater, STALE } from './link.ts';
import type { Link, Relay } from './link.ts';
import { InFlight } from './inflight.ts';
import { dirStamp, stampUsable } from './revalidate.ts';

/** A create's open fid waits this long for the open() the session makes right after. */
const CREATED_TTL_MS = 2000;

const isDirQid = (q: Qid): boolean => (q.type & QTDIR) !== 0;
type Cache = LinkCache<RemoteNode>;

/** What to do with an error of a request on a kept fid: 'self' requests also take ENOENT as a stale fid. */
type Target = 'self' | 'dir';

function staleFid(err: unknown, target: Target): boolean {
  const e = remoteErrno(err);
  return e === ESTALE || e === EBADF || (target === 'self' && e === ENOENT);
}

export class RemoteNode implements Node {
  name: string;
  readonly qid: Qid;
  parent: RemoteNode | undefined;
  private isRemoved = false;
  private readonly kids = new Map<string, WeakRef<RemoteNode>>();
  private sweepAt = 64;
  /** When the remote last confirmed this name leads to this qid (lookup, listing, create). */
  private seenAt = 0;
  /** Its directory's stamp (revalidate.ts), answered before the walk or listing that last confirmed this name. */
  private seenStamp: string | undefined;
  /** When a walk or a listing (not a stamp) last confirmed this name. */
  private walkedAt = 0;
  /** This node's getattr in flight (shared by stats and by lookups of its children); lookups in flight by name. */
  private fetching: InFlight<0, Attr> | undefined;
  private looking: InFlight<string, RemoteNode | undefined> | undefined;
  private created: { link: Link; fid: number; iounit: number; rw: boolean; timer: NodeJS.Timeout } | undefined;
  /** The size the remote last reported, for splitting big reads (undefined: never split). */
  sizeHint: bigint | undefined;
  /** Writes through the relay to this node begun or ended so far: read-ahead is only valid for the same count. */
  writeCount = 0;

  /** `linkId` undefined makes the root: it follows whatever link is current. */
  constructor(readonly relay: Relay, readonly linkId: number | undefined, parent: RemoteNode | undefined, name: string, qid: Qid) {
    this.parent = parent;
    this.name = name;
    this.qid = { ...qid };
  }

  get removed(): boolean { return this.isRemoved; }
  private get isRoot(): boolean { return this.linkId === undefined; }

  /** Whether the remote's `q` is this node's file: the same qid.path, and still a directory or still not. */
  private isSelf(q: Qid): boolean {
    return q.path === this.qid.path && (q.type & QTDIR) === (this.qid.type & QTDIR);
  }

  /** Names from the remote root down to this node. */
  path(): string[] {
    const names: string[] = [];
    for (let n: RemoteNode | undefined = this; n && !n.isRoot; n = n.parent) names.push(n.name);
    return names.reverse();
  }

  /** A write through the relay starts or ends (RemoteHandle): what was read ahead and the cached attributes are stale. */
  wrote(l: Link): void {
    this.writeCount++;
    this.cache(l).invalidate(this.qid.path);
  }

  private gone(c?: Cache): void {
    this.isRemoved = true;
    c?.forget(this);
    this.releaseCreated();
  }

  // ---- plumbing ----

  private cache(l: Link): Cache { return cacheOf<RemoteNode>(l, this.relay.cache); }

  /** The current link when this node belongs to it (no wait): for answers from the cache. */
  private liveLink(): Link | undefined {
    const cur = this.relay.current;
    return cur && (this.isRoot || cur.id === this.linkId) ? cur : undefined;
  }

  private async getLink(): Promise<Link> {
    if (this.isRoot) return this.relay.link();
    const cur = this.relay.current;
    if (!cur || cur.id !== this.linkId) throw STALE;
    return cur;
  }

  /** Runs `fn` on the current link; every error leaves as the NineError to answer with. */
  private async op<T>(fn: (l: Link) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const l = await this.getLink();
    try {
      return await fn(l);
    } catch (err) {
      throw await this.relay.translate(err, l, signal);
    }
  }

  /** This node's kept fid, pinned (the caller releases it), walked when there is none. */
  private pin(l: Link, c: Cache, signal?: AbortSignal): Kept | Promise<Kept> {
    if (this.isRoot) return c.root();
    return c.pin(this) ?? this.walkKept(l, c, signal);
  }

  /** A fid walked for this node, kept. */
  private async walkKept(l: Link, c: Cache, signal?: AbortSignal, sent?: (fid: number) => void): Promise<Kept> {
    return c.keep(this, await this.walkNew(l, c, signal, sent));
  }

  /**
   * A new fid for this node, walked from its nearest ancestor with a kept fid (a failure there is
   * retried from the root) and checked against our qid. The caller keeps or clunks it.
   */
  private async walkNew(l: Link, c: Cache, signal?: AbortSignal, sent?: (fid: number) => void): Promise<number> {
    for (let fromRoot = false; ; fromRoot = true) {
      const names: string[] = [];
      let base: RemoteNode = this;
      while (!base.isRoot && (fromRoot || !c.has(base))) { names.push(base.name); base = base.parent!; }
      names.reverse();
      const b = base.isRoot ? c.root() : c.pin(base)!;
      let w;
      try {
        w = await walkFrom(l, c, b.fid, names, signal, sent);
      } catch (err) {
        if (!base.isRoot && err instanceof RemoteError) { c.forget(base, b); continue; }
        if (names.length > 0 && remoteErrno(err) === ENOENT) { this.gone(c); throw E.removed; }
        throw err;
      } finally {
        c.release(b);
      }
      if (names.length > 0) {
        const q = w.qids[w.qids.length - 1]!;
        if (!this.isSelf(q)) {
          clunkLater(l, w.fid);
          this.gone(c);
          throw E.removed;
        }
      }
      return w.fid;
    }
  }

  /**
   * `fn` on this node's kept fid (which it must leave as it is). A fid the remote calls stale is
   * dropped and walked again once.
   */
  private async withKept<T>(l: Link, fn: (fid: number, k: Kept) => Promise<T>, target: Target, signal?: AbortSignal): Promise<T> {
    const c = this.cache(l);
    for (let attempt = 0; ; attempt++) {
      const k = await this.pin(l, c, signal);
      try {
        return await fn(k.fid, k);
      } catch (err) {
        if (attempt === 0 && !this.isRoot && k.own && staleFid(err, target)) { c.forget(this, k); continue; }
        throw err;
      } finally {
        c.release(k);
      }
    }
  }

  /**
   * A new fid on this node for a request that changes it (open, create, a listing): a clone of
   * its kept fid, or walked (and not kept) when it has none. The caller clunks it.
   */
  private freshFid(l: Link, signal?: AbortSignal): Promise<number> {
    const c = this.cache(l);
    if (!this.isRoot && !c.has(this)) return this.walkNew(l, c, signal);
    return this.withKept(l, async (fid) => (await walkFrom(l, c, fid, [], signal)).fid, 'self', signal);
  }

  /** Attributes of `fid` (this node's file, or a child's for a lookup). */
  private async attrOf(l: Link, fid: number, signal?: AbortSignal): Promise<{ attr: Attr; qid: Qid }> {
    if (this.classic) {
      const st = (await l.client.rpc({ type: 'Tstat', fid }, signal)).stat;
      return { attr: attrFromStat(st), qid: st.qid };
    }
    const r = await l.client.rpc({ type: 'Tgetattr', fid, requestMask: BigInt(P9_GETATTR_BASIC) }, signal);
    return { attr: attrFromGetattr(r), qid: r.qid };
  }

  /** The remote confirmed this name at `at`: a lookup within attrMs answers with this node (held alive till then). */
  private seen(c: Cache, at: number): void {
    this.seenAt = at;
    c.hold(this);
  }

  /** A walk or listing begun at `at` found this name, its directory's stamp being `stamp` before it was sent. */
  private walked(c: Cache, at: number, stamp: string | undefined): void {
    this.walkedAt = at;
    this.seenStamp = stamp;
    this.seen(c, at);
  }

  /** This directory's stamp from attributes the remote already answered (cached), or undefined. */
  private cachedStamp(c: Cache): string | undefined {
    const a = c.attr(this.qid.path);
    return a && dirStamp(a.attr, a.version, this.relay.dialect);
  }

  /**
   * Whether child `k`'s name, older than attrMs, still stands because this directory's stamp has
   * not changed since it was walked (revalidate.ts): one getattr of the directory, shared and
   * cached, instead of a walk per name. Only for a child whose fid is still kept (else its next
   * request walks anyway, and a walk sends its getattr along). A child walked without a stamp
   * gets one at the walk that follows, from the attributes fetched here.
   */
  private async confirmByStamp(l: Link, k: RemoteNode): Promise<boolean> {
    const c = this.cache(l);
    if (c.cfg.attrMs === 0 || !c.has(k)) return false;
    let a = c.attr(this.qid.path);
    if (!a) {
      try {
        await this.getattr();
      } catch {
        return false; // the walk that follows answers for it
      }
      a = c.attr(this.qid.path);
    }
    if (!a || k.seenStamp === undefined || !stampUsable(k.walkedAt, c.cfg.attrMs)) return false;
    if (k.isRemoved || k.parent !== this || dirStamp(a.attr, a.version, this.relay.dialect) !== k.seenStamp) return false;
    k.seen(c, a.at);
    c.confirmedByStamp++;
    return true;
  }

  /** Takes in attributes the remote answered for this node (fetched from generation `gen` at `at`). */
  private learn(c: Cache, a: { attr: Attr; qid: Qid }, gen: number, at: number): void {
    this.qid.version = a.qid.version;
    this.sizeHint = isDirQid(this.qid) ? undefined : a.attr.size;
    c.putAttr(this.qid.path, a.attr, a.qid.version, gen, at);
  }

  /** The node for child `name` with `qid`: the one handed out before if it is still the same file. */
  private adopt(l: Link, name: string, qid: Qid, fresh = false): RemoteNode {
    const old = this.kids.get(name)?.deref();
    if (!fresh && old && old.linkId === l.id && !old.isRemoved && old.qid.path === qid.path && old.parent === this) {
      old.qid.version = qid.version;
      return old;
    }
    if (old && old.linkId === l.id && old.parent === this && old.qid.path !== qid.path) old.gone(this.cache(l));
    const n = new RemoteNode(this.relay, l.id, this, name, qid);
    this.remember(name, n);
    return n;
  }

  private remember(name: string, n: RemoteNode): void {
    this.kids.set(name, new WeakRef(n));
    if (this.kids.size > this.sweepAt) {
      for (const [k, ref] of this.kids) if (!ref.deref()) this.kids.delete(k);
      this.sweepAt = Math.max(64, this.kids.size * 2);
    }
  }

  private kid(name: string): RemoteNode | undefined {
    const n = this.kids.get(name)?.deref();
    return n && n.parent === this ? n : undefined;
  }

  /** True when `n` is this node or below it. */
  private holds(n: RemoteNode): boolean {
    for (let p: RemoteNode | undefined = n; p; p = p.parent) if (p === this) return true;
    return false;
  }

  private get classic(): boolean { return this.relay.dialect !== '9P2000.L'; }

  // ---- Node ----

  getattr(): Attr | Promise<Attr> {
    const cur = this.liveLink();
    if (cur) {
      const hit = this.cache(cur).attr(this.qid.path);
      if (hit) {
        this.qid.version = hit.version;
        this.sizeHint = isDirQid(this.qid) ? undefined : hit.attr.size;
        return { ...hit.attr };
      }
    }
    return this.op(async (l) => {
      const c = this.cache(l);
      return { ...await (this.fetching ??= new InFlight()).run(0, l, c.gen, c.cfg.attrMs > 0, () => this.fetchAttr(l, c)) };
    });
  }

  /**
   * Asks the remote for this node's attributes (on its kept fid) and caches them. A node without
   * a kept fid (found by a listing, or its fid evicted) is walked with the getattr sent along, as
   * a lookup does: one round trip, not two.
   */
  private async fetchAttr(l: Link, c: Cache): Promise<Attr> {
    if (!this.isRoot && c.pipelining && !c.has(this)) {
      const gen = c.gen;
      const at = Date.now();
      let attrs: Promise<{ attr: Attr; qid: Qid } | undefined> | undefined;
      const k = await this.walkKept(l, c, undefined, (fid) => { attrs = this.attrOf(l, fid).catch(() => undefined); });
      try {
        const a = await attrs;
        if (attrs) c.pipelined(a !== undefined);
        if (a && this.isSelf(a.qid)) {
          this.learn(c, a, gen, at);
          return a.attr;
        }
      } finally {
        c.release(k);
      }
    }
    return this.withKept(l, async (fid) => {
      const gen = c.gen;
      const at = Date.now();
      const a = await this.attrOf(l, fid);
      if (!this.isRoot && !this.isSelf(a.qid)) {
        // A path-keeping remote (diod) whose file was replaced: not ours any more.
        this.gone(c);
        throw E.removed;
      }
      this.learn(c, a, gen, at);
      return a.attr;
    }, 'self');
  }

  setattr(change: AttrChange): Promise<void> {
    return this.op((l) => this.withKept(l, async (fid) => {
      try {
        if (this.classic) {
          await l.client.rpc({ type: 'Twstat', fid, stat: wstatOf(change, isDirQid(this.qid), this.relay.dialect) });
        } else {
          await l.client.rpc(setattrOf(fid, change));
        }
      } finally {
        this.cache(l).invalidate(this.qid.path);
      }
    }, 'self'));
  }

  statfs(): Promise<StatFs> {
    if (this.classic) return Promise.resolve({ bsize: 4096, blocks: 0n, bfree: 0n, files: 0n, ffree: 0n, namelen: 255 });
    return this.op((l) => this.withKept(l, async (fid) => {
      const r = await l.client.rpc({ type: 'Tstatfs', fid });
      return { bsize: r.bsize, blocks: r.blocks, bfree: r.bavail, files: r.files, ffree: r.ffree, namelen: r.namelen };
    }, 'self'));
  }

  async open(mode: OpenMode): Promise<Handle> {
    // Directories are listed through list(), which opens its own fid: nothing to hold here.
    if (isDirQid(this.qid)) return {};
    const claimed = this.claimCreated(mode);
    if (claimed) return claimed;
    return this.op(async (l) => {
      const c = this.cache(l);
      for (let attempt = 0; ; attempt++) {
        // The kept fid becomes the handle's when nothing else uses it; else a clone of it.
        const taken = c.take(this);
        const fid = taken ?? await this.freshFid(l);
        // The size, asked along with the open (no extra round trip), lets big reads be split and read ahead.
        const gen = c.gen;
        const at = Date.now();
        if (!mode.truncate && !c.attr(this.qid.path)) {
          void this.attrOf(l, fid).then((a) => { if (a.qid.path === this.qid.path) this.learn(c, a, gen, at); }, () => undefined);
        }
        let iounit: number;
        try {
          if (this.classic) {
            let m = mode.read && mode.write ? ORDWR : mode.write ? OWRITE : OREAD;
            if (mode.truncate) m |= OTRUNC;
            if (mode.append && this.relay.dialect === '9P2000.u') m |= OAPPEND;
            iounit = (await l.client.rpc({ type: 'Topen', fid, mode: m })).iounit;
          } else {
            let f = mode.read && mode.write ? L_O_RDWR : mode.write ? L_O_WRONLY : L_O_RDONLY;
            if (mode.truncate) f |= L_O_TRUNC;
            if (mode.append) f |= L_O_APPEND;
            iounit = (await l.client.rpc({ type: 'Tlopen', fid, flags: f })).iounit;
          }
        } catch (err) {
          clunkLater(l, fid);
          // A kept fid gone stale (the file removed or replaced on the remote): walk again once.
          if (attempt === 0 && taken !== undefined && staleFid(err, 'self')) continue;
          throw err;
        } finally {
          if (mode.truncate) c.invalidate(this.qid.path);
        }
        if (mode.truncate) this.sizeHint = 0n;
        return new RemoteHandle(this, l, fid, iounit);
      }
    });
  }

  /** The fid a create left open, when the open that follows can use it. */
  private claimCreated(mode: OpenMode): Handle | undefined {
    const c = this.created;
    if (!c) return undefined;
    this.created = undefined;
    clearTimeout(c.timer);
    // Our create opened it read-write (or read-only for a file created without owner write).
    // An append open or a link gone since: open afresh.
    if (mode.append || (mode.write && !c.rw) || this.relay.current !== c.link) { clunkLater(c.link, c.fid); return undefined; }
    return new RemoteHandle(this, c.link, c.fid, c.iounit);
  }

  private releaseCreated(): void {
    const c = this.created;
    if (!c) return;
    this.created = undefined;
    clearTimeout(c.timer);
    clunkLater(c.link, c.fid);
  }

  readlink(): Promise<string> {
    return this.op((l) => this.withKept(l, async (fid) => {
      if (this.relay.dialect === '9P2000.L') return (await l.client.rpc({ type: 'Treadlink', fid })).target;
      const st = (await l.client.rpc({ type: 'Tstat', fid })).stat;
      if (!st.dotu) throw E.notSupported.withText('symlinks need 9P2000.u or 9P2000.L');
      return st.dotu.extension;
    }, 'self'));
  }

  // ---- directories ----

  /** A change of this directory's entries through the relay (and of `more` files): their attributes are stale. */
  private changed(l: Link, ...more: Array<RemoteNode | undefined>): void {
    const paths = [this.qid.path];
    for (const n of more) if (n) paths.push(n.qid.path);
    this.cache(l).invalidate(...paths);
  }

  symlink(name: string, target: string, owner: { nUid: number; nGid: number }): Promise<Node> {
    return this.op(async (l) => {
      if (this.relay.dialect === '9P2000.L') {
        try {
          const r = await this.withKept(l, (fid) => l.client.rpc({ type: 'Tsymlink', fid, name, symtgt: target, gid: owner.nGid }), 'dir');
          return this.fresh(l, name, r.qid);
        } finally {
          this.changed(l);
        }
      }
      if (this.relay.dialect !== '9P2000.u') throw E.notSupported.withText('symlinks need 9P2000.u or 9P2000.L');
      const fid = await this.freshFid(l);
      try {
        const r = await l.client.rpc({ type: 'Tcreate', fid, name, perm: (DMSYMLINK | 0o777) >>> 0, mode: OREAD, extension: target });
        return this.fresh(l, name, r.qid);
      } finally {
        clunkLater(l, fid);
        this.changed(l);
      }
    });
  }

  /** A child made just now through the relay. */
  private fresh(l: Link, name: string, qid: Qid): RemoteNode {
    const n = this.adopt(l, name, qid, true);
    n.seen(this.cache(l), Date.now());
    return n;
  }

  link(name: string, target: Node): Promise<void> {
    return this.op(async (l) => {
      if (!(target instanceof RemoteNode) || target.relay !== this.relay) throw E.crossDevice;
      if (!target.isRoot && target.linkId !== l.id) throw STALE;
      if (this.relay.dialect !== '9P2000.L') throw E.notSupported.withText('hard links need 9P2000.L');
      try {
        await this.withKept(l, (dfid) => target.withKept(l, async (fid) => {
          await l.client.rpc({ type: 'Tlink', dfid, fid, name });
        }, 'dir'), 'dir');
      } finally {
        this.changed(l, target);
      }
    });
  }

  lookup(name: string): Node | undefined | Promise<Node | undefined> {
    const cur = this.liveLink();
    const k = this.kid(name);
    if (cur && k && k.linkId === cur.id && !k.isRemoved && this.cache(cur).fresh(k.seenAt)) return k;
    return this.op((l) => {
      const c = this.cache(l);
      return (this.looking ??= new InFlight()).run(name, l, c.gen, c.cfg.attrMs > 0, async () => {
        if (k && k.linkId === l.id && !k.isRemoved && await this.confirmByStamp(l, k)) return k;
        try {
          return await this.withKept(l, (dirfid, dk) => this.walkChild(l, dirfid, dk, name), 'dir');
        } catch (err) {
          if (remoteErrno(err) === ENOENT) return undefined;
          throw err;
        }
      });
    });
  }

  /**
   * Walks `name` from this directory's fid, with the child's getattr sent along (when attributes
   * are cached and the remote answers such getattrs: LinkCache.pipelining). ENOENT from a kept fid older than attrMs is thrown as a stale fid (a path-keeping
   * remote whose directory moved), so withKept walks this directory again and asks once more.
   */
  private async walkChild(l: Link, dirfid: number, dk: Kept, name: string): Promise<RemoteNode> {
    const c = this.cache(l);
    for (;;) {
      const newfid = c.newFid();
      const gen = c.gen;
      const at = Date.now();
      const stamp = this.cachedStamp(c);
      const walking = l.client.rpc({ type: 'Twalk', fid: dirfid, newfid, wnames: [name] });
      const attrs = c.pipelining ? this.attrOf(l, newfid).catch(() => undefined) : undefined;
      let w;
      try {
        w = await walking;
      } catch (err) {
        // An error answer leaves newfid unbound (the number is not used again); an aborted walk may have bound it.
        if (!(err instanceof RemoteError)) clunkLater(l, newfid);
        if (tooManyFids(err) && await c.shrink()) continue;
        if (remoteErrno(err) === ENOENT && dk.own && !c.fresh(dk.at)) throw new RemoteError('Twalk', 'stale directory fid', ESTALE);
        throw err;
      }
      if (w.wqids.length < 1) {
        clunkLater(l, newfid);
        throw new RemoteError('Twalk', `file does not exist: ${name}`, ENOENT);
      }
      const qid = w.wqids[0]!;
      const node = this.adopt(l, name, qid);
      node.walked(c, at, stamp);
      const k = c.keep(node, newfid);
      try {
        let a = await attrs;
        if (attrs) c.pipelined(a !== undefined);
        // A fid that could not be kept (no room) is asked for the attributes before it goes: what
        // follows a lookup nearly always needs them, and walking again for them costs more.
        else if (c.cfg.attrMs > 0 && !c.has(node)) a = await node.attrOf(l, newfid).catch(() => undefined);
        if (a && a.qid.path === qid.path) node.learn(c, a, gen, at);
      } finally {
        c.release(k);
      }
      return node;
    }
  }

  list(): Promise<readonly Node[]> {
    return this.op(async (l) => {
      const c = this.cache(l);
      const fid = await this.freshFid(l);
      try {
        const out: RemoteNode[] = [];
        const count = l.client.iounit;
        const gen = c.gen;
        const at = Date.now();
        const stamp = this.cachedStamp(c);
        if (this.classic) {
          await l.client.rpc({ type: 'Topen', fid, mode: OREAD });
          for (let offset = 0n; ;) {
            const r = await l.client.rpc({ type: 'Tread', fid, offset, count });
            if (r.data.length === 0) break;
            for (const st of decodeStats(r.data, this.relay.dialect)) {
              if (st.name === '.' || st.name === '..') continue;
              const n = this.adopt(l, st.name, st.qid);
              n.walked(c, at, stamp);
              n.learn(c, { attr: attrFromStat(st), qid: st.qid }, gen, at);
              out.push(n);
            }
            offset += BigInt(r.data.length);
          }
        } else {
          await l.client.rpc({ type: 'Tlopen', fid, flags: L_O_RDONLY });
          for (let offset = 0n; ;) {
            const r = await l.client.rpc({ type: 'Treaddir', fid, offset, count });
            if (r.data.length === 0) break;
            const ds = decodeDirents(r.data);
            for (const d of ds) {
              if (d.name === '.' || d.name === '..') continue;
              const n = this.adopt(l, d.name, d.qid);
              n.walked(c, at, stamp);
              out.push(n);
            }
            offset = ds[ds.length - 1]!.offset;
          }
        }
        return out;
      } finally {
        clunkLater(l, fid);
      }
    });
  }

  create(req: CreateRequest): Promise<Node> {
    return this.op(async (l) => {
      if (req.dir && !this.classic) {
        try {
          const r = await this.withKept(l, (fid) => l.client.rpc({ type: 'Tmkdir', dfid: fid, name: req.name, mode: req.perm, gid: req.nGid }), 'dir');
          return this.fresh(l, req.name, r.qid);
        } finally {
          this.changed(l);
        }
      }
      // The dir fid becomes the new file, opened: keep it for the open() the session makes next.
      // Read-write unless the owner may not write (our own servers refuse that open).
      const rw = (req.perm & 0o200) !== 0;
      const fid = await this.freshFid(l);
      let r;
      try {
        r = this.classic
          ? await l.client.rpc({
            type: 'Tcreate', fid, name: req.name, perm: ((req.dir ? DMDIR : 0) | req.perm) >>> 0,
            mode: req.dir || !rw ? OREAD : ORDWR, ...(this.relay.dialect === '9P2000.u' ? { extension: '' } : {}),
          })
          : await l.client.rpc({ type: 'Tlcreate', fid, name: req.name, flags: rw ? L_O_RDWR : L_O_RDONLY, mode: req.perm, gid: req.nGid });
      } catch (err) {
        clunkLater(l, fid);
        throw err;
      } finally {
        this.changed(l);
      }
      const node = this.fresh(l, req.name, r.qid);
      if (req.dir) {
        clunkLater(l, fid);
      } else {
        const timer = setTimeout(() => node.releaseCreated(), CREATED_TTL_MS);
        timer.unref?.();
        node.created = { link: l, fid, iounit: r.iounit, rw, timer };
        node.sizeHint = 0n;
      }
      return node;
    });
  }

  /** Tremove of child `name` (9P2000, or a .L remote without unlinkat): its kept fid when free, else a walked one. */
  private async removeChild(l: Link, name: string, known: RemoteNode | undefined): Promise<void> {
    const c = this.cache(l);
    const fid = (known && c.take(known)) ?? await this.withKept(l, async (dfid) => (await walkFrom(l, c, dfid, [name])).fid, 'dir');
    await l.client.rpc({ type: 'Tremove', fid });
  }

  unlink(name: string): Promise<void> {
    return this.op(async (l) => {
      const known = this.kid(name);
      try {
        if (this.classic) {
          await this.removeChild(l, name, known);
        } else {
          await this.withKept(l, async (dirfid) => {
            let flags = known && isDirQid(known.qid) ? AT_REMOVEDIR : 0;
            for (let attempt = 0; ; attempt++) {
              try {
                await l.client.rpc({ type: 'Tunlinkat', dirfid, name, flags });
                return;
              } catch (err) {
                const errno = remoteErrno(err);
                // What we knew of the child's kind was wrong (or we knew nothing): the other one.
                if (attempt === 0 && ((errno === EISDIR && flags === 0) || (errno === ENOTDIR && flags !== 0))) {
                  flags ^= AT_REMOVEDIR;
                  continue;
                }
                if (errno !== EOPNOTSUPP) throw err;
                await this.removeChild(l, name, known);
                return;
              }
            }
          }, 'dir');
        }
      } finally {
        // Whatever happened, the names and link counts here may have changed.
        this.changed(l, known);
      }
      this.kids.delete(name);
      known?.gone(this.cache(l));
    });
  }

  rename(oldName: string, newDir: Node, newName: string): Promise<void> {
    return this.op(async (l) => {
      if (!(newDir instanceof RemoteNode) || newDir.relay !== this.relay || !isDirQid(newDir.qid)) throw E.crossDevice;
      if (!newDir.isRoot && newDir.linkId !== l.id) throw STALE;
      if (oldName === newName && newDir.qid.path === this.qid.path) return;
      const c = this.cache(l);
      const moved = this.kid(oldName);
      const replaced = newDir.kid(newName);
      try {
        if (this.classic) {
          // 9P2000 renames only within a directory (wstat of the name).
          if (newDir.qid.path !== this.qid.path) throw E.crossDevice;
          await this.withKept(l, async (dfid) => {
            const w = await walkFrom(l, c, dfid, [oldName]);
            try {
              const st = nullStat(this.relay.dialect);
              st.name = newName;
              await l.client.rpc({ type: 'Twstat', fid: w.fid, stat: st });
            } finally {
              clunkLater(l, w.fid);
            }
          }, 'dir');
        } else {
          await this.withKept(l, (olddirfid) => newDir.withKept(l, async (newdirfid) => {
            try {
              await l.client.rpc({ type: 'Trenameat', olddirfid, oldname: oldName, newdirfid, newname: newName });
            } catch (err) {
              if (remoteErrno(err) !== EOPNOTSUPP) throw err;
              const w = await walkFrom(l, c, olddirfid, [oldName]);
              try {
                await l.client.rpc({ type: 'Trename', fid: w.fid, dfid: newdirfid, name: newName });
              } finally {
                clunkLater(l, w.fid);
              }
            }
          }, 'dir'), 'dir');
        }
      } finally {
        this.changed(l, newDir, moved, replaced);
        // A remote that keeps paths in its fids (diod) has the moved ones at the old path: walk them again.
        if (moved) c.forgetWhere((n) => moved.holds(n));
      }
      this.kids.delete(oldName);
      if (replaced && replaced !== moved) replaced.gone(c);
      if (moved) {
        moved.seenStamp = undefined; // a stamp of its old directory
        moved.name = newName;
        moved.parent = newDir;
        newDir.remember(newName, moved);
      }
    });
  }
}

/**
 * Walks `names` from `from` to a new fid of our numbering (16 names per Twalk, the fids between
 * clunked). `sent` hears the final fid's number as soon as its Twalk is sent (a request pipelined
 * behind it). EMFILE from the remote gives back kept fids and tries again. A partial walk rejects
 * with ENOENT (a newfid diod binds anyway is clunked).
 */
async function walkFrom(l: Link, c: Cache, from: number, names: readonly string[], signal?: AbortSignal, sent?: (fid: number) => void): Promise<{ fid: number; qids: Qid[] }> {
  const qids: Qid[] = [];
  let at = from;
  let done = 0;
  do {
    const part = names.slice(done, done + MAXWELEM);
    let r;
    let newfid: number;
    for (;;) {
      newfid = c.newFid();
      try {
        const walking = l.client.rpc({ type: 'Twalk', fid: at, newfid, wnames: part }, signal);
        if (sent && done + MAXWELEM >= names.length) sent(newfid);
        r = await walking;
        break;
      } catch (err) {
        // An error answer leaves newfid unbound; an aborted walk may have bound it: clunk that.
        if (!(err instanceof RemoteError)) clunkLater(l, newfid);
        if (tooManyFids(err) && await c.shrink()) continue;
        if (at !== from) clunkLater(l, at);
        throw err;
      }
    }
    if (at !== from) clunkLater(l, at);
    if (r.wqids.length < part.length) {
      clunkLater(l, newfid);
      throw new RemoteError('Twalk', `file does not exist: ${names.slice(0, done + r.wqids.length + 1).join('/')}`, ENOENT);
    }
    qids.push(...r.wqids);
    at = newfid;
    done += MAXWELEM;
  } while (done < names.length);
  return { fid: at, qids };
}
