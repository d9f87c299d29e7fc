// The one error the codec throws. A server turns it into Rerror/Rlerror when `tag` is known and
// the frame was well delimited, and closes the connection when the stream itself is broken
// (kind 'frame-size'): after that no later byte can be trusted to start a frame.

export type CodecErrorKind =
  | 'truncated' // a field runs past the end of the frame (or of its stat/count)
  | 'trailing' // bytes left over after the last field
  | 'size' // size[4] disagrees with the frame length, or a frame shorter than 7 bytes
  | 'frame-size' // frame splitter: size[4] below 7 or above the maximum (msize)
  | 'unknown-type' // no dialect defines this type byte
  | 'wrong-dialect' // defined, but not in the session's dialect (e.g. Topen on 9P2000.L)
  | 'string' // a string with NUL, invalid UTF-8 or (encoding) a lone surrogate
  | 'limit' // a count over a protocol limit (nwname/nwqid > 16) or inconsistent counts
  | 'encode'; // a value the wire cannot carry (out of range, wrong shape for the dialect)

export interface CodecErrorDetail {
  /** The frame's tag, when the header could be read: answer the error with this tag. */
  tag?: number;
  /** The frame's type byte, when it could be read. */
  msgType?: number;
  /** Byte offset in the frame where the fault was found. */
  offset?: number;
}

export class CodecError extends Error {
  /** Stable code, in the style of core/errors.ts (not yet in its registry). */
  readonly code = 'CHS_ERR_9P_CODEC';
  readonly kind: CodecErrorKind;
  /** Human-readable: names the message, field and offset. */
  readonly reason: string;
  readonly tag: number | undefined;
  readonly msgType: number | undefined;
  readonly offset: number | undefined;

  constructor(kind: CodecErrorKind, reason: string, detail: CodecErrorDetail = {}) {
    super(`CHS_ERR_9P_CODEC: ${reason}`);
    this.name = 'CodecError';
    this.kind = kind;
    this.reason = reason;
    this.tag = detail.tag;
    this.msgType = detail.msgType;
    this.offset = detail.offset;
  }
}
