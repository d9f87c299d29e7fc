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
// next read, unless onRead returns true (a view of them was kept: a partial message, a queued
// write): then the next read goes into a fresh buffer and the old one belongs to whoever kept it.
//
// A socket handed to a newer version of a module (a reload) keeps its reused buffer; the new
// version takes the reads over with retargetReusedRead().

import { Socket } from 'node:net';
import type { OnReadOpts } from 'node:net';

export interface ReusedReader {
  /**
   * Called with each chunk read (a view of the reused buffer). Returns true when a view of it
   * was kept past the call (the next read then gets a fresh buffer). Must not throw.
   */
  onRead(chunk: Buffer): boolean;
}

interface NativeHandle { useUserBuffer?: unknown; constructor?: { name?: string } }
interface SocketInternals { _handle?: NativeHandle | null; encrypted?: boolean }

/**
 * Where reusedOnread's buffers come from when not from Buffer.allocUnsafe: `take` gives one of
 * the right size, `retire` gets back one that will not be read into again (views of it may
 * still be in use: the source decides when it is free).
 */
export interface ReadBufferSource {
  take(): Buffer;
  retire(buf: Buffer): void;
}

/**
 * An `onread` option (for `net.connect`, `new net.Socket`) that reads into one buffer of `size`
 * bytes, reused from read to read until `onRead` says it kept a view of a chunk; the next read
 * then goes into a fresh buffer. The one piece behind the server sockets adopted below, the 9P
 * client and the proxy's upstream connections.
 */
export function reusedOnread(size: number, onRead: (chunk: Buffer) => boolean, source?: ReadBufferSource): OnReadOpts {
  let buf = source ? source.take() : Buffer.allocUnsafe(size);
  let kept = false;
  return {
    buffer: () => {
      if (kept) {
        source?.retire(buf);
        buf = source ? source.take() : Buffer.allocUnsafe(size);
        kept = false;
      }
      return buf;
    },
    callback: (n, b) => {
      kept = onRead((b as Buffer).subarray(0, n));
      return true; // keep reading (pausing is the socket's pause())
    },
  };
}

/** The reader of each adopted socket, replaceable (retargetReusedRead). */
const readers = new WeakMap<Socket, { reader: ReusedReader }>();

/**
 * Moves an accepted, not yet read plain TCP socket onto a reused read buffer of `size` bytes.
 * Returns the socket to use from now on (the old one is destroyed, the connection is not), or
 * undefined when this is not possible (already read from, TLS, not TCP, an unexpected Node):
 * keep using `socket` with 'data' events.
 */
export function readIntoReusedBuffer(socket: Socket, size: number, reader: ReusedReader): Socket | undefined {
  const old = socket as unknown as SocketInternals;
  const handle = old._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || handle.constructor?.name !== 'TCP' || old.encrypted) return undefined;
  if (socket.bytesRead !== 0 || socket.readableLength !== 0 || socket.destroyed) return undefined;
  const slot = { reader };
  let fresh: Socket;
  try {
    fresh = new Socket({
      handle,
      onread: reusedOnread(size, (chunk) => slot.reader.onRead(chunk)),
    } as ConstructorParameters<typeof Socket>[0]);
  } catch {
    return undefined;
  }
  old._handle = null;
  socket.destroy();
  readers.set(fresh, slot);
  return fresh;
}

/** Gives the reads of a socket adopted by readIntoReusedBuffer to `reader`; false if it was not adopted. */
export function retargetReusedRead(socket: Socket, reader: ReusedReader): boolean {
  const slot = readers.get(socket);
  if (!slot) return false;
  slot.reader = reader;
  return true;
}
