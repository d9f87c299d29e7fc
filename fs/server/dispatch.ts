// Dispatch is a table with defaults (lib9p's srv() switch, p9's templatefs): message type ->
// handler. A type with no handler (an R-message sent to us, symlink on a tree that has none...)
// answers EOPNOTSUPP / "not supported". Tversion and Tflush are the session's own business and
// never reach the table. Handlers throw NineErrors; the session turns them into Rerror/Rlerror.
//
// A handler may answer synchronously (return the reply, or throw) when its tree does: the hot
// ones (getattr, read, write) do, which saves a promise, an async frame and a microtask hop per
// request. Together with the lazy AbortSignal (request.ts) and the direct Rgetattr encoder it
// took the server's CPU per Tgetattr from ~34 to ~24 µs (diodload -g, see bench/9p.md). Async
// handlers are fine everywhere else.

import type { Dialect, MsgOf, RMsg, TMsg } from '../codec/messages.ts';
import type { MaybePromise } from '../tree/types.ts';
import { E } from '../errors.ts';
import type { AttachFn } from '../tree/types.ts';
import type { AuthProvider } from './auth.ts';
import type { Fid, FidTable } from './fids.ts';
import type { Req } from './request.ts';
import { common } from './ops-common.ts';
import { classic } from './ops-classic.ts';
import { linux } from './ops-linux.ts';

/** What a handler may use of its session. */
export interface Ctx {
  readonly dialect: Dialect;
  readonly msize: number;
  /** msize - IOHDRSZ: the most data one Rread/Twrite carries. */
  readonly iounit: number;
  readonly remote: string;
  readonly fids: FidTable;
  readonly auth: AuthProvider | undefined;
  readonly attach: AttachFn;
  /** The bound fid `id`, tied to `req` (a clunk of the fid aborts the request). ESTALE if its node was removed. */
  use(req: Req, id: number): Fid;
  /** Binds a fid reserved by this request, unless the request was abandoned (session reset). */
  bind(req: Req, fid: Fid): void;
  /** Ends a fid taken out of the table: aborts its requests, ORCLOSE, closes its handle. */
  retire(fid: Fid): MaybePromise<void>;
  /** Reports a tree fault (answered as EIO) to the server's onError hook. */
  fault(err: unknown, request: string): void;
}

/**
 * A reply a handler encoded itself (Tgetattr: from numbers, without an Rgetattr object's BigInts;
 * see codec/getattr.ts).
 */
export interface Encoded { type: 'Encoded'; tag: number; frame: Uint8Array }
/** An Rread whose data a tree wants to hear about once it was written (Handle.released). */
export type SentRread = Extract<RMsg, { type: 'Rread' }> & { sent?: () => void };
/**
 * An Rread whose data is several arrays, in order (ReadsInPieces): sent as its header and the
 * arrays, with one writev, instead of being copied into one first. `sent` as for SentRread.
 */
export interface PiecedRread { type: 'Rreadv'; tag: number; pieces: Uint8Array[]; length: number; sent?: () => void }
export type Reply = RMsg | Encoded | SentRread | PiecedRread;

/**
 * A handle (fs/tree/types.ts Handle) that can answer a read with the arrays its data arrived in,
 * so the server writes them without joining them (a RemoteTree's read split into pieces). The
 * server calls readPieces instead of read; their concatenation is the data (at most `count`
 * bytes, none: end of file). released(), when the handle has it, is called once for each piece
 * once the reply was written (or copied).
 */
export interface ReadsInPieces {
  readPieces(offset: bigint, count: number, signal: AbortSignal): MaybePromise<Uint8Array[]>;
  released?(data: Uint8Array): void;
}

export function readsInPieces<H extends object>(h: H): h is H & ReadsInPieces {
  return typeof (h as Partial<ReadsInPieces>).readPieces === 'function';
}

type TType = TMsg['type'];
export type Handler<K extends TType> = (ctx: Ctx, m: MsgOf<K>, req: Req) => MaybePromise<Reply>;
export type HandlerTable = { [K in TType]?: Handler<K> };

export const handlers: HandlerTable = { ...common, ...classic, ...linux };

/** The handler's reply (or a promise of it); throws what a synchronous handler throws. */
export function dispatch(ctx: Ctx, m: TMsg, req: Req): MaybePromise<Reply> {
  const h = handlers[m.type] as ((c: Ctx, m: TMsg, r: Req) => MaybePromise<Reply>) | undefined;
  if (!h) throw E.notSupported;
  return h(ctx, m, req);
}

