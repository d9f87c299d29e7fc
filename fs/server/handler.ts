// What handlers and the session share: the context a handler gets, the replies it may give, and
// the handler table's shape (dispatch.ts fills the table from ops-common/classic/linux).

import type { Dialect, MsgOf, RMsg, TMsg } from '../codec/messages.ts';
import type { AttachFn, MaybePromise } from '../tree/types.ts';
import type { AuthProvider } from './auth.ts';
import type { Fid, FidTable } from './fids.ts';
import type { Req } from './request.ts';

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

type TType = TMsg['type'];
export type Handler<K extends TType> = (ctx: Ctx, m: MsgOf<K>, req: Req) => MaybePromise<Reply>;
export type HandlerTable = { [K in TType]?: Handler<K> };
