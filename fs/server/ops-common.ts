// Handlers for the messages every dialect shares: auth, attach, walk, read, write, clunk, remove.

import { MAXWELEM, NOFID, NONUNAME, QTAUTH } from '../codec/constants.ts';
import type { Qid, RMsg } from '../codec/messages.ts';
import { E } from '../errors.ts';
import { readsInPieces } from '../tree/types.ts';
import type { Handle, MaybePromise, Node, ReadsInPieces } from '../tree/types.ts';
import { isDir } from './attrs.ts';
import { readDirectory } from './ops-classic.ts';
import { Fid } from './fids.ts';
import { isPromise } from './maybe.ts';
import type { HandlerTable, PiecedRread, Reply, SentRread } from './handler.ts';
import type { Req } from './request.ts';

/** Given to handles that declare `ignoresSignal`: saves an AbortController per Tread/Twrite. */
export const NEVER_ABORTED = new AbortController().signal;

let authPath = 0n;

/** Removes the node a fid points at through its parent (Tremove, ORCLOSE). */
export async function removeNode(fid: Fid): Promise<void> {
  if (!fid.parent) throw E.perm.withText('cannot remove the root');
  if (!fid.parent.unlink) throw E.notSupported;
  // The entry is checked to be still the fid's file (see Fid.entry); no await in between when
  // the tree answers synchronously.
  const e = fid.entry();
  const { parent, name } = isPromise(e) ? await e : e;
  await parent.unlink!(name);
}

interface Walked { path: Node[]; qids: Qid[] }

/**
 * Walks `names` from the fid. Synchronous while the tree's lookups are (an export answering from
 * a listing it just made, memfs, synthetic trees), so Twalk can be answered in place; the first
 * lookup that returns a promise continues asynchronously. A failing first name is an error, a
 * later one ends the walk short (the qids so far).
 */
function walk(fid: Fid, names: readonly string[], req: Req): MaybePromise<Walked> {
  const w: Walked = { path: fid.path.slice(), qids: [] };
  const from = (i: number): MaybePromise<Walked> => {
    for (; i < names.length; i++) {
      const name = names[i]!;
      const cur = w.path[w.path.length - 1]!;
      try {
        if (name === '' || name.includes('/')) throw E.badName;
        if (!isDir(cur.qid)) throw E.walkNotDir;
        if (name === '..') {
          if (w.path.length > 1) w.path.pop();
        } else if (name !== '.') {
          if (!cur.lookup) throw E.notFound;
          const next = cur.lookup(name);
          if (isPromise(next)) {
            const at = i;
            return next.then((n) => {
              try {
                step(n);
              } catch (err) {
                return stop(at, err);
              }
              return from(at + 1);
            }, (err: unknown) => stop(at, err));
          }
          step(next);
          continue;
        }
        w.qids.push({ ...w.path[w.path.length - 1]!.qid });
      } catch (err) {
        return stop(i, err);
      }
    }
    return w;
  };
  /** One name resolved to `next`. */
  const step = (next: Node | undefined): void => {
    if (req.aborted) throw E.interrupted;
    if (!next || next.removed) throw E.notFound;
    w.path.push(next);
    w.qids.push({ ...next.qid });
  };
  const stop = (i: number, err: unknown): Walked => {
    if (i === 0) throw err;
    return w;
  };
  return from(0);
}

export function rread(tag: number, data: MaybePromise<Uint8Array>, count: number, h?: Handle): MaybePromise<Reply> {
  if (isPromise(data)) return data.then((d) => rread(tag, d, count, h));
  const r: SentRread = { type: 'Rread', tag, data: data.length > count ? data.subarray(0, count) : data };
  if (h?.released) r.sent = () => h.released!(data);
  return r;
}

/** The Rread of a read answered in pieces (at most `count` bytes of them; each piece released once sent). */
export function rreadv(tag: number, pieces: MaybePromise<Uint8Array[]>, count: number, h: ReadsInPieces): MaybePromise<Reply> {
  if (isPromise(pieces)) return pieces.then((p) => rreadv(tag, p, count, h));
  if (pieces.length === 1) return rread(tag, pieces[0]!, count, h);
  const out: Uint8Array[] = [];
  let length = 0;
  for (const p of pieces) {
    if (length === count) break;
    const k = Math.min(p.length, count - length);
    out.push(k === p.length ? p : p.subarray(0, k));
    length += k;
  }
  const r: PiecedRread = { type: 'Rreadv', tag, pieces: out, length };
  if (h.released) r.sent = () => { for (const p of pieces) h.released!(p); };
  return r;
}

export function rwrite(tag: number, n: MaybePromise<number>, sent: number): MaybePromise<RMsg> {
  if (isPromise(n)) return n.then((k) => rwrite(tag, k, sent));
  return { type: 'Rwrite', tag, count: Math.max(0, Math.min(n, sent)) };
}

export const common: HandlerTable = {
  async Tauth(ctx, m) {
    const auth = ctx.auth;
    if (!auth) throw E.noAuth;
    ctx.fids.reserve(m.afid);
    try {
      const conv = await auth.begin({ uname: m.uname, aname: m.aname, nUname: m.nUname ?? NONUNAME, remote: ctx.remote });
      const fid = new Fid(m.afid, [], m.uname, m.nUname ?? NONUNAME);
      fid.auth = conv;
      ctx.fids.bind(fid);
      return { type: 'Rauth', tag: m.tag, aqid: { type: QTAUTH, version: 0, path: ++authPath } };
    } catch (err) {
      ctx.fids.release(m.afid);
      throw err;
    }
  },

  async Tattach(ctx, m, req) {
    let authenticated: { uname: string } | undefined;
    const nUname = m.nUname ?? NONUNAME;
    const info = { uname: m.uname, aname: m.aname, nUname, remote: ctx.remote };
    if (m.afid !== NOFID) {
      if (!ctx.auth) throw E.noAuth;
      const af = ctx.use(req, m.afid);
      if (!af.auth) throw E.badAfid;
      authenticated = af.auth.result();
      if (!authenticated) throw E.authFailed;
    } else if (ctx.auth && !(ctx.auth.allowUnauthenticated?.(info) ?? false)) {
      throw E.authRequired;
    }
    ctx.fids.reserve(m.fid);
    try {
      const root = await ctx.attach({ ...info, authenticated });
      const fid = new Fid(m.fid, [root], m.uname, nUname);
      ctx.bind(req, fid);
      return { type: 'Rattach', tag: m.tag, qid: { ...root.qid } };
    } catch (err) {
      ctx.fids.release(m.fid);
      throw err;
    }
  },

  // Answered synchronously when the walk is (see walk()).
  Twalk(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) throw E.badFid;
    if (m.wnames.length > MAXWELEM) throw E.tooManyNames;
    if (fid.open && ctx.dialect !== '9P2000.L') throw E.walkOpen;
    const same = m.newfid === m.fid;
    if (!same) ctx.fids.reserve(m.newfid);
    const done = ({ path, qids }: Walked): RMsg => {
      if (qids.length === m.wnames.length) {
        if (same) fid.path = path;
        else ctx.bind(req, new Fid(m.newfid, path, fid.uname, fid.nUname));
      } else if (!same) {
        ctx.fids.release(m.newfid);
      }
      return { type: 'Rwalk', tag: m.tag, wqids: qids };
    };
    const failed = (err: unknown): never => {
      if (!same) ctx.fids.release(m.newfid);
      throw err;
    };
    try {
      const w = walk(fid, m.wnames, req);
      return isPromise(w) ? w.then(done, failed) : done(w);
    } catch (err) {
      return failed(err);
    }
  },

  // Tread and Twrite answer synchronously when the tree's handle does (see dispatch.ts).
  Tread(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    const count = Math.min(m.count, ctx.iounit);
    if (fid.auth) return rread(m.tag, fid.auth.read(count, req.signal), count);
    const open = fid.open;
    if (!open) throw E.notOpen;
    if (!open.read) throw E.notOpenRead;
    if (open.dir) {
      if (ctx.dialect === '9P2000.L') throw E.isDir;
      return readDirectory(ctx, fid, open, m.offset, count).then((data): RMsg => ({ type: 'Rread', tag: m.tag, data }));
    }
    if (readsInPieces(open.handle)) {
      return rreadv(m.tag, open.handle.readPieces(m.offset, count, open.handle.ignoresSignal ? NEVER_ABORTED : req.signal), count, open.handle);
    }
    if (!open.handle.read) throw E.notSupported;
    return rread(m.tag, open.handle.read(m.offset, count, open.handle.ignoresSignal ? NEVER_ABORTED : req.signal), count, open.handle);
  },

  Twrite(ctx, m, req) {
    const fid = ctx.use(req, m.fid);
    if (fid.auth) {
      const n = fid.auth.write(m.data, req.signal);
      return isPromise(n) ? n.then((count): RMsg => ({ type: 'Rwrite', tag: m.tag, count })) : { type: 'Rwrite', tag: m.tag, count: n };
    }
    const open = fid.open;
    if (!open) throw E.notOpen;
    if (open.dir) throw E.isDir;
    if (!open.write) throw E.notOpenWrite;
    if (!open.handle.write) throw E.notSupported;
    return rwrite(m.tag, open.handle.write(m.offset, m.data, open.handle.ignoresSignal ? NEVER_ABORTED : req.signal), m.data.length);
  },

  // Answered synchronously when nothing has to be waited for (see Session.retire).
  Tclunk(ctx, m) {
    const fid = ctx.fids.take(m.fid);
    const r = ctx.retire(fid);
    const reply: RMsg = { type: 'Rclunk', tag: m.tag };
    return isPromise(r) ? r.then(() => reply) : reply;
  },

  async Tremove(ctx, m) {
    // The fid is clunked whatever happens (remove(5)); a removal failure is still reported.
    const fid = ctx.fids.take(m.fid);
    if (fid.open) fid.open.removeOnClunk = false;
    try {
      if (fid.auth) throw E.badFid;
      if (fid.node.removed) throw E.removed;
      await removeNode(fid);
    } finally {
      await ctx.retire(fid);
    }
    return { type: 'Rremove', tag: m.tag };
  },
};
