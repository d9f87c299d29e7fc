// One 9P session per connection (after lib9p srv.c): version negotiation, the fid table, tags in
// flight, Tflush ordering, and answering every request exactly once (or, when flushed or reset,
// deliberately never). Transport-agnostic: it takes whole frames and hands back whole frames, so
// server.ts (TCP) and anything else (a test, a tunnel) can drive it.
//
// Flush: the flushed request is aborted (its signal fires). If its handler still succeeds, that
// reply goes out first; if it fails, it is never answered. Either way the Rflush follows. A
// handler that ignores its signal is abandoned after flushTimeoutMs so the Rflush is not held
// hostage (its eventual result is dropped, and its tag is free for reuse from the Rflush on).

import { CodecError, decode, encode, IOHDRSZ, MSG, VERSION_9P2000, VERSION_9P2000_L, VERSION_9P2000_U, VERSION_UNKNOWN } from '../codec/index.ts';
import type { Dialect, Msg, TMsg, Tflush, Tversion } from '../codec/index.ts';
import { E, FsError, NineError, toNineError } from '../errors.ts';
import type { AttachFn, MaybePromise } from '../tree/types.ts';
import type { AuthProvider } from './auth.ts';
import { encodeDataHeader, encodeReadHeader } from '../codec/encode.ts';
import { dispatch } from './dispatch.ts';
import { isPromise } from './maybe.ts';
import type { Ctx, PiecedRread, Reply, SentRread } from './handler.ts';
import { FidTable } from './fids.ts';
import type { Fid } from './fids.ts';
import { answerInPlace } from './in-place.ts';
import type { Tracked } from './in-place.ts';
import { removeNode } from './ops-common.ts';
import { Req } from './request.ts';
import type { NineStats } from './stats.ts';

export const MIN_MSIZE = 4096;
export const DEFAULT_MAX_MSIZE = 1 << 20;

export interface SessionOptions {
  /** Picks the root Node for a Tattach (by aname, user, peer). */
  attach: AttachFn;
  /** Largest msize we agree to (default 1 MiB); the client's smaller one wins. */
  maxMsize?: number;
  /** Bound fids per session (default 4096); more answers EMFILE "too many fids". */
  maxFids?: number;
  /** Accept "9P2000.u" (default true); otherwise a .u client is offered plain 9P2000. */
  dotu?: boolean;
  /** Authentication through Tauth; without one Tauth answers "authentication not required". */
  auth?: AuthProvider;
  /** How long a Tflush waits for a handler that ignores its abort signal (default 2000 ms). */
  flushTimeoutMs?: number;
  /**
   * A tree fault (a throw that is not a NineError) or a reply we could not encode; the client got
   * EIO. `err` is an FsError CHS_ERR_9P_TREE_FAULT whose cause is what was thrown.
   */
  onError?: (err: FsError, info: { request: string; remote: string }) => void;
  /** Counts every request and every error answer by request type (the server passes its own). */
  stats?: NineStats;
}

/** Rread/Rreaddir payloads from this size on are sent without being copied behind their header. */
const SEPARATE_PAYLOAD = 4096;

export interface Transport {
  /**
   * Sends one whole frame: `frame`, then `payload` when given (the data of an Rread/Rreaddir,
   * not copied: a tree's read result must not change once returned, which memfs, the devices and
   * the synthetic tree's snapshots all guarantee). Both must go out together and in order.
   * `sent` (with a payload only) is called once the payload was written to the socket, or its
   * write failed; not at all if the connection closed before it was written.
   */
  send(frame: Uint8Array, payload?: Uint8Array, sent?: () => void): void;
  /**
   * send() with a payload made of several arrays, in order (an Rread answered in pieces): all go
   * out together, without being joined first. `sent` as for send(), once the last was written.
   * Without it the session joins the pieces and calls send().
   */
  sendPieces?(frame: Uint8Array, pieces: readonly Uint8Array[], sent?: () => void): void;
  /** "ip:port" of the peer, for attach and logs. */
  readonly remote: string;
  /** The largest frame the transport should accept from now on (the negotiated msize). */
  setMaxFrame?(size: number): void;
}

export class Session implements Ctx {
  dialect: Dialect = '9P2000';
  /** False until a Tversion succeeds (and after a refused one). */
  negotiated = false;
  msize: number;
  iounit: number;
  readonly fids: FidTable;
  readonly auth: AuthProvider | undefined;
  readonly attach: AttachFn;
  readonly remote: string;
  private readonly inflight = new Map<number, Req>();
  private readonly maxMsize: number;
  private readonly flushTimeoutMs: number;
  private ended = false;
  /** Called when a request settles (the transport resumes reading below its in-flight bound). */
  onSettled: (() => void) | undefined;

  constructor(private readonly transport: Transport, private readonly opts: SessionOptions) {
    this.maxMsize = opts.maxMsize ?? DEFAULT_MAX_MSIZE;
    if (!Number.isInteger(this.maxMsize) || this.maxMsize < MIN_MSIZE) {
      throw new FsError('CHS_ERR_9P_ARGUMENT', `maxMsize must be an integer >= ${MIN_MSIZE}, got ${this.maxMsize}`);
    }
    this.msize = this.maxMsize;
    this.iounit = this.msize - IOHDRSZ;
    this.fids = new FidTable(opts.maxFids ?? 4096);
    this.auth = opts.auth;
    this.attach = opts.attach;
    this.remote = transport.remote;
    this.flushTimeoutMs = opts.flushTimeoutMs ?? 2000;
  }

  /** Requests received and not yet answered or abandoned. */
  get pending(): number { return this.inflight.size; }

  /** Handles one whole frame (size[4] already checked against msize by the transport). */
  receive(frame: Uint8Array): void {
    if (this.ended) return;
    if (frame.length < 7) return; // cannot happen behind a FrameSplitter; nothing to answer
    const type = frame[4]!;
    const tag = frame[5]! | (frame[6]! << 8);
    this.opts.stats?.request(type);
    if (type === MSG.Tversion) { this.version(frame, tag); return; }
    if (!this.negotiated) { this.sendError(tag, E.noVersion, type); return; }
    if (answerInPlace(this, frame, type, tag)) return;
    let m: Msg;
    try {
      m = decode(frame, this.dialect);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      this.sendError(tag, err.kind === 'unknown-type' ? E.unknownType
        : err.kind === 'wrong-dialect' ? E.wrongDialect
        : E.malformed.withText(`malformed message: ${err.reason}`), type);
      return;
    }
    if (this.inflight.has(tag)) { this.sendError(tag, E.dupTag, type); return; }
    if (m.type === 'Tflush') { this.flush(m); return; }
    const req = new Req(tag, m.type);
    this.inflight.set(tag, req);
    let r: Reply | Promise<Reply>;
    try {
      r = dispatch(this, m as TMsg, req);
    } catch (err) {
      this.fail(req, err);
      return;
    }
    if (isPromise(r)) r.then((reply) => this.finish(req, reply), (err: unknown) => this.fail(req, err));
    else this.finish(req, r);
  }

  // ---- for the requests answered in place (in-place.ts) ----

  tagFree(tag: number): boolean { return !this.inflight.has(tag); }

  reply(r: Reply): void { this.send(r); }

  /** A request answered in place that has to be tracked after all: in flight and using its fid. */
  track(tag: number, type: string, fidId: number): Tracked {
    const req = new Req(tag, type);
    this.inflight.set(tag, req);
    this.use(req, fidId);
    return { finish: (r) => this.finish(req, r), fail: (err) => this.fail(req, err) };
  }

  // ---- Ctx ----

  use(req: Req, id: number): Fid {
    const fid = this.fids.get(id);
    if (fid.stale) throw E.removed;
    fid.users.add(req);
    (req.fids ??= []).push(fid);
    return fid;
  }

  bind(req: Req, fid: Fid): void {
    if (req.abandoned) return;
    this.fids.bind(fid);
  }

  /**
   * Ends a fid's life: aborts its requests and waits for them, ORCLOSE, then closes its handle.
   * Synchronous in the common case (no request on it, no ORCLOSE, no handle or one that closes
   * synchronously), so a Tclunk is answered in place.
   */
  retire(fid: Fid): MaybePromise<void> {
    if (fid.users.size > 0 || fid.open?.removeOnClunk) return this.retireSlowly(fid);
    let closing: MaybePromise<void> | undefined;
    try {
      closing = fid.open?.handle.close?.();
    } catch (err) {
      this.fault(err, 'close');
    }
    if (!isPromise(closing)) {
      this.closeAuth(fid);
      return undefined;
    }
    return closing.then(() => this.closeAuth(fid), (err: unknown) => { this.fault(err, 'close'); this.closeAuth(fid); });
  }

  private closeAuth(fid: Fid): void {
    try {
      fid.auth?.close?.();
    } catch (err) {
      this.fault(err, 'close');
    }
  }

  private async retireSlowly(fid: Fid): Promise<void> {
    const users = [...fid.users];
    for (const u of users) u.abort();
    if (users.length > 0) await this.within(Promise.all(users.map((u) => u.settled)));
    const open = fid.open;
    try {
      if (open?.removeOnClunk && !fid.node.removed) await removeNode(fid);
    } catch (err) {
      if (!(err instanceof NineError)) this.fault(err, 'ORCLOSE');
    }
    try {
      await open?.handle.close?.();
      fid.auth?.close?.();
    } catch (err) {
      this.fault(err, 'close');
    }
  }

  fault(err: unknown, request: string): void {
    const text = err instanceof Error ? err.message : String(err);
    const wrapped = new FsError('CHS_ERR_9P_TREE_FAULT', `${request} from ${this.remote} answered EIO: ${text}`, { cause: err });
    try {
      this.opts.onError?.(wrapped, { request, remote: this.remote });
    } catch { /* a logging hook must not take the session down */ }
  }

  // ---- lifecycle ----

  /** The connection is gone: drop everything in flight unanswered and clunk every fid. */
  end(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.ended = true;
    this.abandonAll(undefined);
    return this.retireAll();
  }

  /** Server shutdown: answer everything in flight with "server shutting down", then clunk all. */
  shutdown(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.abandonAll(E.shuttingDown);
    this.ended = true;
    return this.retireAll();
  }

  private async retireAll(): Promise<void> {
    await Promise.allSettled(this.fids.clear().map((f) => this.retire(f)));
  }

  private within<T>(p: Promise<T>): Promise<T | void> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.flushTimeoutMs); timer.unref?.(); });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
  }

  // ---- version and flush ----

  private version(frame: Uint8Array, tag: number): void {
    let m: Tversion;
    try {
      m = decode(frame, '9P2000') as Tversion;
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      this.sendError(tag, E.malformed.withText(`malformed message: ${err.reason}`), MSG.Tversion, '9P2000');
      return;
    }
    // version(5): a Tversion aborts all outstanding I/O and clunks every fid.
    this.abandonAll(undefined);
    void this.retireAll();
    this.negotiated = false;
    const wanted = pickDialect(m.version, this.opts.dotu ?? true);
    if (wanted === undefined) {
      this.send({ type: 'Rversion', tag, msize: Math.min(m.msize, this.maxMsize), version: VERSION_UNKNOWN });
      return;
    }
    if (m.msize < MIN_MSIZE) {
      this.sendError(tag, E.msizeTooSmall.withText(`msize ${m.msize} is below ${MIN_MSIZE}`), MSG.Tversion, wanted);
      return;
    }
    this.dialect = wanted;
    this.msize = Math.min(m.msize, this.maxMsize);
    this.iounit = this.msize - IOHDRSZ;
    this.negotiated = true;
    this.transport.setMaxFrame?.(this.msize);
    this.send({ type: 'Rversion', tag, msize: this.msize, version: wanted });
  }

  private flush(m: Tflush): void {
    const fr = new Req(m.tag, 'Tflush');
    this.inflight.set(m.tag, fr);
    const old = this.inflight.get(m.oldtag);
    if (!old || old === fr) { this.finish(fr, { type: 'Rflush', tag: m.tag }); return; }
    (old.flushes ??= []).push(fr);
    if (old.type === 'Tflush') return; // flushing a flush: answered right after it
    old.flushed = true;
    old.abort();
    if (!old.flushTimer) {
      old.flushTimer = setTimeout(() => {
        if (old.finished) return;
        this.inflight.delete(old.tag);
        old.abandoned = true;
        old.done();
        this.answerFlushes(old);
      }, this.flushTimeoutMs);
      old.flushTimer.unref?.();
    }
  }

  private answerFlushes(req: Req): void {
    const fs = req.flushes;
    if (!fs) return;
    req.flushes = undefined;
    for (const f of fs) this.finish(f, { type: 'Rflush', tag: f.tag });
  }

  // ---- answering ----

  private finish(req: Req, reply: Reply): void {
    if (req.abandoned || req.finished) return;
    this.inflight.delete(req.tag);
    req.done();
    this.send(reply);
    this.answerFlushes(req);
    this.onSettled?.();
  }

  private fail(req: Req, err: unknown): void {
    if (req.abandoned || req.finished) return;
    if (req.flushed) {
      // Aborted by a Tflush: never answered; the Rflush says it is gone.
      this.inflight.delete(req.tag);
      req.done();
      this.answerFlushes(req);
      this.onSettled?.();
      return;
    }
    let { error, fault } = toNineError(err);
    if (req.aborted && fault) { error = E.interrupted; fault = false; }
    if (fault) this.fault(err, req.type);
    this.inflight.delete(req.tag);
    req.done();
    this.sendError(req.tag, error, req.type);
    this.answerFlushes(req);
    this.onSettled?.();
  }

  private abandonAll(answer: NineError | undefined): void {
    const reqs = [...this.inflight.values()];
    this.inflight.clear();
    for (const r of reqs) {
      r.abandoned = true;
      r.abort();
      r.done();
      if (answer) {
        if (r.type === 'Tflush') this.send({ type: 'Rflush', tag: r.tag });
        else this.sendError(r.tag, answer, r.type);
      }
    }
  }

  /** Answers `tag` with `err`, counted against the request's type `of` (byte or name). */
  private sendError(tag: number, err: NineError, of: number | string, dialect: Dialect = this.dialect): void {
    this.opts.stats?.error(of);
    if (dialect === '9P2000.L') this.send({ type: 'Rlerror', tag, ecode: err.errno });
    else if (dialect === '9P2000.u') this.send({ type: 'Rerror', tag, ename: err.ename, errno: err.errno });
    else this.send({ type: 'Rerror', tag, ename: err.ename });
  }

  private send(msg: Reply): void {
    if (this.ended) return;
    if (msg.type === 'Encoded') {
      // Encoded by its handler (fixed-size Rgetattr: always within the minimum msize).
      this.transport.send(msg.frame);
      return;
    }
    if (msg.type === 'Rreadv') { this.sendPieces(msg); return; }
    let frame: Uint8Array;
    let payload: Uint8Array | undefined;
    /** Handle.released for an Rread's data: after the write, or now when the data was copied or dropped. */
    const sent = msg.type === 'Rread' ? (msg as SentRread).sent : undefined;
    try {
      if (msg.type === 'Rread' || msg.type === 'Rreaddir') {
        frame = encodeDataHeader(msg);
        // Big payloads go out after the header as they are (see Transport.send); small ones are
        // cheaper joined into one pooled buffer than written as a second piece.
        if (msg.data.length >= SEPARATE_PAYLOAD) payload = msg.data;
        else frame = Buffer.concat([frame, msg.data]);
      } else {
        frame = encode(msg);
      }
      const size = frame.length + (payload?.length ?? 0);
      if (size > this.msize) throw new FsError('CHS_ERR_9P_PROTOCOL', `${msg.type} of ${size} bytes exceeds msize ${this.msize}`);
    } catch (err) {
      // A tree handed us something the wire cannot carry (a name with NUL, a huge stat...).
      sent?.();
      this.fault(err, msg.type);
      if (msg.type === 'Rerror' || msg.type === 'Rlerror') return;
      this.sendError(msg.tag, E.io, MSG[msg.type as keyof typeof MSG] - 1); // the request of an R-message is its type - 1
      return;
    }
    if (payload) {
      this.transport.send(frame, payload, sent);
    } else {
      this.transport.send(frame);
      sent?.();
    }
  }

  /** An Rread whose data is several arrays: one writev of the header and them, when the transport can. */
  private sendPieces(msg: PiecedRread): void {
    let frame: Uint8Array;
    try {
      frame = encodeReadHeader(msg.tag, msg.length);
      if (frame.length + msg.length > this.msize) throw new FsError('CHS_ERR_9P_PROTOCOL', `Rread of ${frame.length + msg.length} bytes exceeds msize ${this.msize}`);
    } catch (err) {
      msg.sent?.();
      this.fault(err, 'Rread');
      this.sendError(msg.tag, E.io, MSG.Tread);
      return;
    }
    if (msg.length >= SEPARATE_PAYLOAD && this.transport.sendPieces) {
      this.transport.sendPieces(frame, msg.pieces, msg.sent);
      return;
    }
    // Joined (copied): the pieces are free at once.
    if (msg.length >= SEPARATE_PAYLOAD) this.transport.send(frame, Buffer.concat(msg.pieces, msg.length));
    else this.transport.send(Buffer.concat([frame, ...msg.pieces], frame.length + msg.length));
    msg.sent?.();
  }
}

/** The dialect to answer a Tversion string with, or undefined for "unknown" (version(5)). */
export function pickDialect(version: string, dotu: boolean): Dialect | undefined {
  if (version === VERSION_9P2000_L) return VERSION_9P2000_L;
  if (version === VERSION_9P2000_U) return dotu ? VERSION_9P2000_U : VERSION_9P2000;
  const m = /^9P(\d+)/.exec(version);
  if (!m) return undefined;
  return Number(m[1]) >= 2000 ? VERSION_9P2000 : undefined;
}
