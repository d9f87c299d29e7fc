// Reading an accepted TCP socket into one reused buffer instead of a fresh Buffer per read.
//
// Why: for every read on a socket in 'data' mode, Node allocates a 64 KiB backing store, and when
// the read comes up short it allocates a right-sized zero-filled one and copies into it; each is
// external memory the GC has to track. On a 9P server answering 64 KiB Twrites that is a large
// share of the CPU per request (bench/9p.md). `net.Socket`'s documented `onread` option avoids it,
// with a buffer the caller owns, but Node only applies it to sockets it constructs from options;
// a server's accepted sockets are made internally without it.
//
// How: right after accept, before anything was read, the accepted socket's native handle is moved
// into a new `net.Socket({ handle, onread })` and the original wrapper is destroyed without the
// handle (so the server's connection count drops and the fd stays open). `handle` is the option
// net.Server itself uses for accepted sockets; it and `_handle` are not documented, so this is
// feature-checked and falls back (returns undefined) when the shape is not what we expect; the
// caller then reads through 'data' events as before. Checked on Node 20, 22 and 24.
//
// Ownership: the bytes passed to `onRead` live in the reused buffer and are overwritten by the
// next read, unless `retained()` (asked after each onRead) says some of them were kept: then the
// next read goes into a fresh buffer and the old one belongs to whoever kept a view of it.

import { Socket } from 'node:net';

export interface ReusedReadOptions {
  /** Size of the read buffer (the most one read returns). */
  size: number;
  /** Called with each chunk read (a view of the reused buffer). Must not throw. */
  onRead(chunk: Buffer): void;
  /** Asked after each onRead: true when a view of that chunk was kept beyond the call. */
  retained(): boolean;
}

interface NativeHandle { useUserBuffer?: unknown; reading?: boolean }
interface SocketInternals { _handle?: NativeHandle | null }

/**
 * Moves an accepted, not yet read socket onto a reused read buffer. Returns the socket to use
 * from now on (the old one is destroyed, the connection is not), or undefined when this is not
 * possible (already read from, not a libuv stream, an unexpected Node): keep using `socket`.
 */
export function readIntoReusedBuffer(socket: Socket, opts: ReusedReadOptions): Socket | undefined {
  const old = socket as unknown as SocketInternals;
  const handle = old._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return undefined;
  if (socket.bytesRead !== 0 || socket.readableLength !== 0 || socket.destroyed) return undefined;
  let buf = Buffer.allocUnsafe(opts.size);
  const next = (): Buffer => {
    if (opts.retained()) buf = Buffer.allocUnsafe(opts.size);
    return buf;
  };
  let fresh: Socket;
  try {
    fresh = new Socket({
      handle,
      onread: { buffer: next, callback: (n: number, b: Uint8Array) => { opts.onRead((b as Buffer).subarray(0, n)); } },
    } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    return undefined;
  }
  old._handle = null;
  socket.destroy();
  return fresh;
}
