// Requests answered in place: a Tgetattr, Tread or Twrite that nothing before the tree's own
// call can fail skips the decode, the dispatch table and the request object, and is answered
// before the session returns. Each function here checks the conditions and returns false when
// any is not met; the session then takes the generic path, which answers every error. What the
// tree's call itself throws, and a promise it returns, become a tracked request (host.track: in
// flight, flushable, aborted by a clunk of its fid), answered exactly as through the generic
// handlers. fs/server/in-place.test.ts runs Tread and Twrite cases through both paths and
// compares them. Measured effect: bench/9p.md (getattr: second round, item 4; Tread/Twrite:
// third round).

import { MSG } from '../codec/index.ts';
import type { Dialect } from '../codec/index.ts';
import type { Attr, Handle, MaybePromise } from '../tree/types.ts';
import { toGetattr } from './attrs.ts';
import type { Reply } from './handler.ts';
import type { FidTable } from './fids.ts';
import { isPromise } from './maybe.ts';
import { NEVER_ABORTED, rread, rwrite } from './ops-common.ts';

/** size[4] type[1] tag[2] fid[4] request_mask[8] */
const TGETATTR_SIZE = 19;
/** size[4] type[1] tag[2] fid[4] offset[8] count[4]; also a Twrite's header (data[count] follows). */
const TREAD_SIZE = 23;

export interface Tracked { finish: (r: Reply) => void; fail: (err: unknown) => void }

/** What the in-place answers need of their session. */
export interface InPlaceHost {
  readonly dialect: Dialect;
  readonly iounit: number;
  readonly fids: FidTable;
  /** No request in flight holds `tag`. */
  tagFree(tag: number): boolean;
  /** Encodes and sends a reply. */
  reply(r: Reply): void;
  /** Registers the request after all: in flight under `tag`, using fid `fidId`. */
  track(tag: number, type: string, fidId: number): Tracked;
}

/** Answers the frame in place and returns true, or returns false for the generic path. */
export function answerInPlace(host: InPlaceHost, frame: Uint8Array, type: number, tag: number): boolean {
  switch (type) {
    case MSG.Tgetattr: return frame.length === TGETATTR_SIZE && host.dialect === '9P2000.L' && getattrNow(host, frame, tag);
    case MSG.Tread: return frame.length === TREAD_SIZE && readNow(host, frame, tag);
    case MSG.Twrite: return frame.length >= TREAD_SIZE && writeNow(host, frame, tag);
    default: return false;
  }
}

const u32At = (f: Uint8Array, i: number): number => (f[i]! | (f[i + 1]! << 8) | (f[i + 2]! << 16)) + f[i + 3]! * 0x1000000;

/** A little-endian u64 as a bigint, through a Number when it fits (no BigInt arithmetic). */
function u64At(f: Uint8Array, i: number): bigint {
  const lo = u32At(f, i);
  const hi = u32At(f, i + 4);
  return hi < 0x200000 ? BigInt(hi * 0x100000000 + lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * Tgetattr, the commonest request there is (every stat, ls -l, a Linux mount's revalidation),
 * answered without the generic machinery when nothing can go wrong: a well-formed frame (the
 * splitter checked its size; a Tgetattr is 19 bytes), a free tag, a bound fid that is not an
 * auth fid, on a node not removed. Anything else returns false and takes the generic path, so
 * every error is answered there, the same way. A getattr that returns a promise continues as
 * a tracked request (in flight, flushable, aborted by a clunk of its fid) like any other.
 * Saves the decode, the request object and the bookkeeping of a request answered in place:
 * in bench/9p.ts's one-connection getattr loop that was ~5% of the time per request.
 */
function getattrNow(host: InPlaceHost, frame: Uint8Array, tag: number): boolean {
  if (!host.tagFree(tag)) return false;
  const id = u32At(frame, 7);
  const fid = host.fids.peek(id);
  if (!fid || fid.auth || fid.stale) return false;
  const node = fid.node;
  let a: MaybePromise<Attr>;
  let reply: Reply;
  try {
    a = node.getattr();
    if (isPromise(a)) {
      const t = host.track(tag, 'Tgetattr', id);
      a.then((attr) => toGetattr(tag, node, attr)).then(t.finish, t.fail);
      return true;
    }
    reply = toGetattr(tag, node, a);
  } catch {
    return false; // the generic path asks again and answers the error (and reports a fault)
  }
  host.reply(reply);
  return true;
}

/**
 * Tread of an open file whose handle needs no abort signal (ignoresSignal: the export, memfs),
 * the request of every bulk transfer, taken the way getattrNow takes a Tgetattr: only when
 * nothing before the handle's read can fail (a well-formed frame, a free tag, a bound fid that
 * is not an auth fid, on a node not removed, open for reading, not a directory). Otherwise it
 * returns false and the generic path answers. Errors of the read itself, and reads that return
 * a promise, become a tracked request (in flight, flushable, aborted by a clunk of its fid), so
 * they are answered exactly as through Tread's handler. Saves the decode, the dispatch, and the
 * request object of a read answered in place.
 */
function readNow(host: InPlaceHost, frame: Uint8Array, tag: number): boolean {
  const h = plainHandle(host, frame, tag, false);
  if (!h?.read) return false;
  const offset = u64At(frame, 11);
  const count = Math.min(u32At(frame, 19), host.iounit);
  let data: MaybePromise<Uint8Array>;
  try {
    data = h.read(offset, count, NEVER_ABORTED);
  } catch (err) {
    host.track(tag, 'Tread', u32At(frame, 7)).fail(err);
    return true;
  }
  if (isPromise(data)) {
    const t = host.track(tag, 'Tread', u32At(frame, 7));
    data.then((d) => t.finish(rread(tag, d, count, h) as Reply), (err: unknown) => t.fail(err));
    return true;
  }
  host.reply(rread(tag, data, count, h) as Reply);
  return true;
}

/**
 * Twrite, the other half of a bulk transfer, taken like readNow: a free tag, a bound plain fid
 * open for writing with a handle that ignores the signal, and a count matching the frame.
 * `data` is a view of the connection's read buffer, as through the generic path: a write that
 * returns a promise is tracked, and the server keeps the buffer (Session.pending grew).
 */
function writeNow(host: InPlaceHost, frame: Uint8Array, tag: number): boolean {
  if (u32At(frame, 19) !== frame.length - TREAD_SIZE) return false;
  const h = plainHandle(host, frame, tag, true);
  if (!h?.write) return false;
  const data = frame.subarray(TREAD_SIZE);
  let n: MaybePromise<number>;
  try {
    n = h.write(u64At(frame, 11), data, NEVER_ABORTED);
  } catch (err) {
    host.track(tag, 'Twrite', u32At(frame, 7)).fail(err);
    return true;
  }
  if (isPromise(n)) {
    const t = host.track(tag, 'Twrite', u32At(frame, 7));
    n.then((k) => t.finish(rwrite(tag, k, data.length) as Reply), (err: unknown) => t.fail(err));
    return true;
  }
  host.reply(rwrite(tag, n, data.length) as Reply);
  return true;
}

/**
 * For the fast paths: the handle of the fid named at frame[7..11] when nothing before its
 * read or write can fail (a free tag, a bound fid that is not an auth fid, on a node not
 * removed, open for that, not a directory, a handle that ignores the signal); else undefined.
 */
function plainHandle(host: InPlaceHost, frame: Uint8Array, tag: number, write: boolean): Handle | undefined {
  if (!host.tagFree(tag)) return undefined;
  const fid = host.fids.peek(u32At(frame, 7));
  if (!fid || fid.auth || fid.stale) return undefined;
  const open = fid.open;
  if (!open || open.dir || !(write ? open.write : open.read)) return undefined;
  return open.handle.ignoresSignal ? open.handle : undefined;
}
