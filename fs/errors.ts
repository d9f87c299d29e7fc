// Errors of the 9P layer, in two kinds (CONVENTIONS "Two kinds of 9P error"):
//  - NineError: what a tree or the session answers a client with. It carries a constant
//    9P2000 string and a Linux errno, so one throw serves every dialect (Rerror / Rerror+errno /
//    Rlerror). A tree throws these on purpose; anything else it throws is a fault and becomes EIO.
//  - FsError: what our own Node code raises to its caller (client, server), with a stable
//    CHS_ERR_9P_* code, declared below into the one registry (base/errors.ts).

import { CheshireError, defineErrors } from '../base/errors.ts';
import * as C from './codec/constants.ts';
import { getSystemErrorMap } from 'node:util';

export class NineError extends Error {
  readonly errno: number;
  readonly ename: string;
  constructor(errno: number, ename: string) {
    super(ename);
    this.name = 'NineError';
    this.errno = errno;
    this.ename = ename;
  }
  /** The same errno with a different text, e.g. a ctl command's own message. */
  withText(ename: string): NineError { return new NineError(this.errno, ename); }
}

const e = (errno: number, ename: string): NineError => new NineError(errno, ename);

/**
 * The constant errors the session and the trees answer with (lib9p style strings). They are
 * shared instances: never mutate; use withText() to change the text.
 */
export const E = {
  badFid: e(C.EBADF, 'unknown fid'),
  dupFid: e(C.EBADF, 'fid already in use'),
  dupTag: e(C.EINVAL, 'duplicate tag'),
  tooManyFids: e(C.EMFILE, 'too many fids'),
  notFound: e(C.ENOENT, 'file does not exist'),
  exists: e(C.EEXIST, 'file already exists'),
  perm: e(C.EACCES, 'permission denied'),
  isDir: e(C.EISDIR, 'is a directory'),
  notDir: e(C.ENOTDIR, 'not a directory'),
  walkNotDir: e(C.ENOTDIR, 'walk in non-directory'),
  walkOpen: e(C.EBUSY, 'cannot walk from an open fid'),
  tooManyNames: e(C.EINVAL, 'too many names in walk'),
  badName: e(C.EINVAL, 'illegal file name'),
  alreadyOpen: e(C.EBUSY, 'fid already open'),
  notOpen: e(C.EBADF, 'fid not open'),
  notOpenRead: e(C.EBADF, 'fid not open for reading'),
  notOpenWrite: e(C.EBADF, 'fid not open for writing'),
  badOffset: e(C.EINVAL, 'bad offset in directory read'),
  tooSmall: e(C.EMSGSIZE, 'count too small for a directory entry'),
  badMode: e(C.EINVAL, 'bad open mode'),
  notEmpty: e(C.ENOTEMPTY, 'directory not empty'),
  removed: e(C.ESTALE, 'file has been removed'),
  notSupported: e(C.EOPNOTSUPP, 'not supported'),
  io: e(C.EIO, 'i/o error'),
  interrupted: e(C.EINTR, 'interrupted'),
  malformed: e(C.EBADMSG, 'malformed message'),
  unknownType: e(C.EOPNOTSUPP, 'unknown message type'),
  wrongDialect: e(C.EOPNOTSUPP, 'message not in the negotiated dialect'),
  noVersion: e(C.EPROTO, 'version not negotiated'),
  msizeTooSmall: e(C.EINVAL, 'msize too small'),
  noAuth: e(C.ENOENT, 'authentication not required'),
  authFailed: e(C.EACCES, 'authentication failed'),
  authRequired: e(C.EACCES, 'authentication required'),
  badAfid: e(C.EBADF, 'not an authentication fid'),
  noAttach: e(C.ENOENT, 'no such file tree'),
  shuttingDown: e(C.ECANCELED, 'server shutting down'),
  crossDevice: e(C.EXDEV, 'cross-device rename'),
  invalid: e(C.EINVAL, 'invalid argument'),
  tooBig: e(C.EFBIG, 'file too large'),
} as const;

/**
 * Text for an errno we received in Rlerror (the client side of .L, which carries no text): the
 * system's own message (strerror), not one of our constant texts that happens to share the errno.
 */
export function errnoText(errno: number): string {
  return getSystemErrorMap().get(-errno)?.[1] ?? `errno ${errno}`;
}


/** The 9P layer's codes in the one CHS_ERR_* registry. */
export const FS_ERROR_CODES = {
  CHS_ERR_9P_CODEC: 'a 9P frame is malformed, truncated, too large, or not valid in the session\'s dialect',
  CHS_ERR_9P_REMOTE: 'the 9P peer answered a request with Rerror/Rlerror (see ename and errno)',
  CHS_ERR_9P_CLOSED: 'the 9P connection closed while a request was in flight or before it was sent',
  CHS_ERR_9P_ABORTED: 'a 9P request was aborted by its AbortSignal (Tflush sent)',
  CHS_ERR_9P_TIMEOUT: 'connecting or negotiating a 9P version did not finish in time',
  CHS_ERR_9P_VERSION: 'the peer refused or downgraded the 9P version we asked for',
  CHS_ERR_9P_PROTOCOL: 'the peer sent a reply that breaks the protocol (wrong type, unknown tag, bad msize)',
  CHS_ERR_9P_ARGUMENT: 'a 9P client or server API was called with an invalid argument',
  CHS_ERR_9P_LISTEN: 'the 9P server could not listen on its address',
  CHS_ERR_9P_REFUSED: 'the 9P server refused or closed a connection: too many in all or from one address, handshake not finished in time, or idle with no fid',
  CHS_ERR_9P_TREE_FAULT: 'a file tree handler threw something other than a NineError, or a reply could not be encoded (the client got EIO)',
} as const;
defineErrors(FS_ERROR_CODES);

export type FsErrorCode = keyof typeof FS_ERROR_CODES;

export class FsError extends CheshireError {
  constructor(code: FsErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'FsError';
  }
}

/** A 9P error answer received by our client: the server's text and (when sent) its errno. */
export class RemoteError extends FsError {
  readonly ename: string;
  readonly errno: number | undefined;
  /** The request that failed, e.g. "Twalk". */
  readonly request: string;
  constructor(request: string, ename: string, errno: number | undefined) {
    super('CHS_ERR_9P_REMOTE', `${request}: ${ename}${errno !== undefined ? ` (errno ${errno})` : ''}`);
    this.name = 'RemoteError';
    this.request = request;
    this.ename = ename;
    this.errno = errno;
  }
}

/** Turns anything a tree threw into the NineError to answer with; `fault` is true for non-NineErrors. */
export function toNineError(err: unknown): { error: NineError; fault: boolean } {
  if (err instanceof NineError) return { error: err, fault: false };
  return { error: E.io, fault: true };
}
