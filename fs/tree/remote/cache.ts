// What a RemoteTree remembers per connection (Link), so that metadata requests do not walk from
// the remote root every time:
//   kept fids   a node's own remote fid, walked once (from the nearest ancestor that has one) and
//               kept in a bounded LRU; an evicted fid is clunked once no request uses it. A
//               remote that answers EMFILE to a walk lowers the bound for that connection.
//   attributes  what the last getattr (or a walk's pipelined getattr, or a 9P2000 listing)
//               answered, by qid.path (so every name of a hard-linked file shares one entry),
//               trusted for `attrMs`. Any change made through the relay drops the entries it
//               affects at once and bumps `gen`, so an answer fetched across a change is not stored.
// A new connection gets a new LinkCache: nothing of an earlier one's fids or attributes is used.
// The consistency this gives is written up in docs/exports.md ("Grafts: kept fids and the
// attribute cache").

import { EMFILE, ENFILE } from '../../codec/index.ts';
import type { Attr } from '../types.ts';
import { clunkLater } from './link.ts';
import type { CacheConfig, Link } from './link.ts';
import { remoteErrno } from './convert.ts';

export interface RemoteCacheOptions {
  /**
   * How long attributes and looked-up names fetched from the remote are trusted, in ms (default
   * 1000). 0 turns the cache off: every getattr and lookup asks the remote.
   */
  attrMs?: number;
  /** Remote fids kept for nodes per connection (default 1024; lowered when the remote answers EMFILE). */
  fids?: number;
  /**
   * Send a lookup's Tgetattr right behind its Twalk, before the Rwalk (one round trip instead of
   * two). Only for a server that handles a connection's requests in order, or refuses a request
   * on a fid it has not bound yet: Cheshire's own (styx-client turns it on for the grafts it
   * found through the seed or the DHT). 9P lets a server run requests concurrently and makes the
   * new fid valid only at Rwalk; diod 1.0.24 does run them on threads, and a getattr racing the
   * walk that binds its fid was seen to make it answer ENOENT for files that exist, and to crash.
   * Default false.
   */
  pipeline?: boolean;
}

export const DEFAULT_ATTR_MS = 1000;
export const DEFAULT_KEPT_FIDS = 1024;
/** Attribute entries kept per connection (oldest dropped first). */
const MAX_ATTRS = 8192;
/**
 * Fid numbers of the relay's own walks: counted up from FID_BASE, never reused before wrapping
 * past FID_MAX. The client's allocator hands a number out again right after its Rclunk, and diod
 * keeps a clunked fid in its table until every request that touched it has let go: a walk to the
 * reused number could then bind a fid diod drops a moment later (requests on it answer EIO or
 * walk from the wrong file). The client's own numbers (attach) stay far below FID_BASE.
 */
const FID_BASE = 1 << 24;
const FID_MAX = 0xfffffffe; // NOFID is 0xffffffff

export function cacheConfig(o: RemoteCacheOptions | undefined): CacheConfig {
  const attrMs = o?.attrMs ?? DEFAULT_ATTR_MS;
  const fids = o?.fids ?? DEFAULT_KEPT_FIDS;
  return {
    attrMs: Number.isFinite(attrMs) && attrMs > 0 ? attrMs : 0,
    fids: Number.isInteger(fids) && fids > 0 ? fids : DEFAULT_KEPT_FIDS,
    pipeline: o?.pipeline === true,
  };
}

/**
 * A kept fid and the requests using it; `dropped` ones are clunked when the last user lets go.
 * `at`: when it was walked; `used`: when a request last pinned it.
 */
export interface Kept { readonly fid: number; users: number; dropped: boolean; readonly at: number; used: number; readonly own: boolean }

interface CachedAttr { attr: Attr; version: number; at: number }

export class LinkCache<K extends object> {
  private readonly kept = new Map<K, Kept>();
  private readonly attrs = new Map<bigint, CachedAttr>();
  /**
   * Nodes whose name was confirmed lately, held so that a lookup within attrMs finds them
   * (directories remember their children only weakly). At most MAX_ATTRS, oldest let go first.
   */
  private readonly recent = new Set<K>();
  private nextFid = FID_BASE;
  /** Pipelined getattrs (sent with their walk) answered, and answered "invalid fid" (the first turns them off). */
  private pipelinedOk = 0;
  private pipelinedFailed = 0;
  private cap: number;
  /** Expired names confirmed by their directory's unchanged stamp instead of a walk (remote/revalidate.ts; tests). */
  confirmedByStamp = 0;
  /** Bumped by every invalidation: a fetch that started before one is not stored. */
  gen = 0;

  constructor(private readonly l: Link, readonly cfg: CacheConfig) {
    this.cap = cfg.fids;
  }

  get keptCount(): number { return this.kept.size; }
  get limit(): number { return this.cap; }

  // ---- fid numbers ----

  /** A fid number for a walk: not used on this connection for the last ~4 billion walks. Clunk it with clunkLater. */
  newFid(): number {
    const f = this.nextFid;
    this.nextFid = f >= FID_MAX ? FID_BASE : f + 1;
    return f;
  }

  // ---- kept fids ----

  /** `key`'s kept fid, pinned (release() it), or undefined. */
  pin(key: K): Kept | undefined {
    const k = this.kept.get(key);
    if (!k) return undefined;
    this.kept.delete(key);
    this.kept.set(key, k); // most recently used last
    k.users++;
    k.used = Date.now();
    return k;
  }

  /** The connection's root fid as a Kept that is never clunked. */
  root(): Kept { return { fid: this.l.rootFid, users: 0, dropped: false, at: Number.POSITIVE_INFINITY, used: 0, own: false }; }

  /**
   * Keeps `fid` (just walked) for `key`, pinned; when `key` already has one, or there is no room,
   * `fid` serves this request only (clunked when released). Room is made by letting go of the
   * least recently used fid, but not of one used within attrMs: a scan over more names than the
   * bound (a stat walk of a big directory, repeated) would otherwise evict every fid before its
   * next use, where this keeps the first `fids` of them from one pass to the next.
   */
  keep(key: K, fid: number): Kept {
    const now = Date.now();
    const k: Kept = { fid, users: 1, dropped: false, at: now, used: now, own: true };
    if (this.kept.has(key) || !this.makeRoom(now)) { k.dropped = true; return k; }
    this.kept.set(key, k);
    return k;
  }

  /** Unpins; a dropped fid is clunked by its last user. */
  release(k: Kept): void {
    k.users--;
    if (k.dropped && k.users === 0 && k.own) clunkLater(this.l, k.fid);
  }

  /** Stops keeping `key`'s fid (stale, renamed, removed); clunked once unused. */
  forget(key: K, only?: Kept): void {
    const k = this.kept.get(key);
    if (!k || (only && k !== only)) return;
    this.kept.delete(key);
    this.drop(k);
  }

  /** Takes `key`'s fid for good (an open turns it into a handle's fid) when nothing else uses it. */
  take(key: K): number | undefined {
    const k = this.kept.get(key);
    if (!k || k.users > 0) return undefined;
    this.kept.delete(key);
    return k.fid;
  }

  has(key: K): boolean { return this.kept.has(key); }

  /** Forgets the fids of every key `pred` picks (a renamed directory's descendants). */
  forgetWhere(pred: (key: K) => boolean): void {
    for (const [key, k] of [...this.kept]) if (pred(key)) { this.kept.delete(key); this.drop(k); }
  }

  /**
   * After EMFILE/ENFILE from the remote: halves what we keep and waits for those clunks. False
   * when there was nothing to give back (the error stands).
   */
  async shrink(): Promise<boolean> {
    const unused = [...this.kept.values()].filter((k) => k.users === 0).length;
    if (unused === 0) return false;
    this.cap = Math.max(1, Math.floor(this.kept.size / 2));
    const done: Array<Promise<unknown>> = [];
    for (const [key, k] of [...this.kept]) {
      if (this.kept.size <= this.cap) break;
      if (k.users > 0) continue;
      this.kept.delete(key);
      k.dropped = true;
      done.push(this.l.client.rpc({ type: 'Tclunk', fid: k.fid }).catch(() => undefined));
    }
    await Promise.all(done);
    return true;
  }

  private drop(k: Kept): void {
    k.dropped = true;
    if (k.users === 0 && k.own) clunkLater(this.l, k.fid);
  }

  /** Whether there is room for one more kept fid (the least recently used let go when it may be). */
  private makeRoom(now: number): boolean {
    while (this.kept.size >= this.cap) {
      const [key, k] = this.kept.entries().next().value as [K, Kept];
      if (this.cfg.attrMs > 0 && now - k.used < this.cfg.attrMs) return false;
      this.kept.delete(key);
      this.drop(k);
    }
    return true;
  }

  /**
   * Whether a lookup should send the new fid's getattr along with its walk: only when asked for
   * (RemoteCacheOptions.pipeline: a Cheshire server, which answers a request on a fid it has not
   * bound yet with EBADF and nothing worse). Our server handles a walk in a tree that answers at
   * once before the next request; the first such getattr the remote refuses shows its walks wait
   * (an export on disk, a relay asking its own remote): from then on this connection waits for
   * each Rwalk, the getattrs being wasted work.
   */
  get pipelining(): boolean {
    return this.cfg.pipeline && this.cfg.attrMs > 0 && this.pipelinedFailed === 0;
  }

  pipelined(ok: boolean): void {
    if (ok) this.pipelinedOk++;
    else this.pipelinedFailed++;
  }

  /** How the pipelined getattrs went on this connection (tests). */
  get pipelineCounts(): { ok: number; failed: number } {
    return { ok: this.pipelinedOk, failed: this.pipelinedFailed };
  }

  // ---- attributes ----

  /** Fresh attributes of qid.path `path`, or undefined. */
  attr(path: bigint): CachedAttr | undefined {
    if (this.cfg.attrMs === 0) return undefined;
    const a = this.attrs.get(path);
    if (!a) return undefined;
    if (Date.now() - a.at >= this.cfg.attrMs) { this.attrs.delete(path); return undefined; }
    return a;
  }

  /** Stores what a fetch begun at generation `gen` answered (unless something changed since). */
  putAttr(path: bigint, attr: Attr, version: number, gen: number, at = Date.now()): void {
    if (this.cfg.attrMs === 0 || gen !== this.gen) return;
    this.attrs.delete(path);
    this.attrs.set(path, { attr, version, at });
    if (this.attrs.size > MAX_ATTRS) {
      for (const p of this.attrs.keys()) { this.attrs.delete(p); if (this.attrs.size <= MAX_ATTRS * 0.9) break; }
    }
  }

  /** A change through the relay: these files' attributes are stale now. */
  invalidate(...paths: bigint[]): void {
    this.gen++;
    for (const p of paths) this.attrs.delete(p);
  }

  /** Keeps `key` alive for a while (see `recent`). */
  hold(key: K): void {
    if (this.cfg.attrMs === 0) return;
    this.recent.delete(key);
    this.recent.add(key);
    if (this.recent.size > MAX_ATTRS) for (const k of this.recent) { this.recent.delete(k); break; }
  }

  /** True when `t` (a name's lookup time) is still within attrMs. */
  fresh(t: number): boolean { return this.cfg.attrMs > 0 && Date.now() - t < this.cfg.attrMs; }
}

/** EMFILE/ENFILE: the remote holds too many of our fids. */
export function tooManyFids(err: unknown): boolean {
  const e = remoteErrno(err);
  return e === EMFILE || e === ENFILE;
}

const caches = new WeakMap<Link, LinkCache<object>>();

/** The cache of connection `l` (made on first use; dies with the link). */
export function cacheOf<K extends object>(l: Link, cfg: CacheConfig): LinkCache<K> {
  let c = caches.get(l);
  if (!c) { c = new LinkCache<object>(l, cfg); caches.set(l, c); }
  return c as LinkCache<K>;
}
