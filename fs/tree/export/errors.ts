// Node's fs errors -> the NineError a client gets, with lib9p-style constant texts. The system
// message is never used: it names host paths ("lstat '/proc/self/fd/23/x'"), and what lies
// outside the export (even its location) is none of the client's business.

import {
  EAGAIN, EBADF, EBUSY, EDEADLK, EFBIG, EMFILE, EMLINK, ENAMETOOLONG, ENFILE, ENODEV, ENOSPC,
  ENOSYS, ENXIO, EOVERFLOW, EPERM, EROFS, ELOOP, ERANGE,
} from '../../codec/constants.ts';
import { E, NineError } from '../../errors.ts';

const n = (errno: number, text: string): NineError => new NineError(errno, text);

export const X = {
  readOnly: n(EROFS, 'read-only file system'),
  nameTooLong: n(ENAMETOOLONG, 'file name too long'),
  nulInName: E.invalid.withText('NUL in file name'),
  symlink: n(ELOOP, 'is a symbolic link'),
  special: E.notSupported.withText('not a regular file'),
  linkDir: n(EPERM, 'cannot link a directory'),
  notLink: E.invalid.withText('not a symbolic link'),
  otherTree: E.crossDevice.withText('not in this export'),
  tooBig: n(EFBIG, 'file too large'),
} as const;

const BY_CODE: Record<string, NineError> = {
  ENOENT: E.notFound,
  EACCES: E.perm,
  EPERM: n(EPERM, 'operation not permitted'),
  EEXIST: E.exists,
  ENOTDIR: E.notDir,
  EISDIR: E.isDir,
  ENOTEMPTY: E.notEmpty,
  EROFS: X.readOnly,
  ENAMETOOLONG: X.nameTooLong,
  ELOOP: n(ELOOP, 'too many levels of symbolic links'),
  EXDEV: E.crossDevice,
  ENOSPC: n(ENOSPC, 'no space left on device'),
  EDQUOT: n(122, 'disk quota exceeded'),
  EFBIG: X.tooBig,
  EINVAL: E.invalid,
  EMLINK: n(EMLINK, 'too many links'),
  EBUSY: n(EBUSY, 'device or resource busy'),
  ETXTBSY: n(26, 'text file busy'),
  EBADF: n(EBADF, 'bad file descriptor'),
  EIO: E.io,
  ENXIO: n(ENXIO, 'no such device or address'),
  ENODEV: n(ENODEV, 'no such device'),
  EAGAIN: n(EAGAIN, 'resource temporarily unavailable'),
  EINTR: E.interrupted,
  EMFILE: n(EMFILE, 'too many open files'),
  ENFILE: n(ENFILE, 'too many open files in system'),
  ESTALE: E.removed,
  EOVERFLOW: n(EOVERFLOW, 'value too large'),
  ERANGE: n(ERANGE, 'result out of range'),
  EDEADLK: n(EDEADLK, 'resource deadlock avoided'),
  ENOSYS: n(ENOSYS, 'function not implemented'),
  EOPNOTSUPP: E.notSupported,
  ENOTSUP: E.notSupported,
};

/**
 * The NineError for anything an fs call threw. NineErrors pass through; a system error with an
 * unknown code keeps its errno with a neutral text; anything else (a bug of ours) is rethrown so
 * the session reports it as a fault (EIO + onError).
 */
export function fsError(err: unknown): NineError {
  if (err instanceof NineError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  if (e && typeof e.code === 'string') {
    const known = BY_CODE[e.code];
    if (known) return known;
    if (typeof e.errno === 'number' && e.errno !== 0) return n(Math.abs(e.errno), `i/o error (${e.code})`);
  }
  throw err;
}

/** Runs an fs call, turning its rejection into the client's NineError. */
export async function sys<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw fsError(err);
  }
}

/** The errno code of a system error ('ENOENT'...), or undefined. */
export function codeOf(err: unknown): string | undefined {
  const c = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}
