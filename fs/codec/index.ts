// Public API of the 9P codec: pure functions and types, no I/O. See decode.ts for what is
// validated and errors.ts for how a server should react to a CodecError.

export * from './constants.ts';
export { CodecError } from './errors.ts';
export type { CodecErrorKind, CodecErrorDetail } from './errors.ts';
export { Reader, Writer, toSafeNumber } from './buffer.ts';
export { DIALECTS, DIALECT_MESSAGES, inDialect, hasNumericIds } from './messages.ts';
export type * from './messages.ts';
export { encode } from './encode.ts';
export { encodeRgetattrNumbers, RGETATTR_SIZE } from './getattr.ts';
export type { GetattrNumbers } from './getattr.ts';
export { decode } from './decode.ts';
export { FrameSplitter } from './frame.ts';
export { statSize, encodeStat, decodeStats, packStats, nullStat, readStat, writeStat } from './stat.ts';
export { direntSize, encodeDirents, decodeDirents, packDirents, readDirent, writeDirent } from './dirent.ts';
