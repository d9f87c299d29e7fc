// A connection relayed into a worker thread, which cannot receive a socket: the host keeps the
// accepted socket and pumps its bytes over a MessagePort of their own (one per connection); in
// the worker a Duplex on that port is what the http.Server gets as its connection. Child
// processes get the socket itself instead (core/isolation/spawn.ts). Both ends are here.
// Flow control both ways: a side that cannot take more (the worker's readable buffer is full,
// the host socket's write buffer is) says `pause` and later `resume`; the other side stops
// reading its socket, or holds its writes, meanwhile. So a slow reader buffers at most about a
// highWaterMark plus what was in flight, not the whole upload.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

type Ctl = { t: 'end' } | { t: 'destroy' } | { t: 'pause' } | { t: 'resume' };

/** A copy of `b` that owns its whole buffer: a clone of a view into a pooled slab would copy the slab. */
function own(b: Buffer): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : Uint8Array.prototype.slice.call(b);
}

/**
 * Host side: relays `socket` over a new port pair; returns the far port, to transfer to the worker.
 * The socket is destroyed when the worker's end closes (or the worker dies), and the port closed
 * when the socket closes.
 */
export function relaySocket(socket: Socket): MessagePort {
  const { port1, port2 } = new MessageChannel();
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    port1.close();
  };
  let full = false;
  port1.on('message', (m: Uint8Array | Ctl) => {
    if (m instanceof Uint8Array) {
      if (!socket.write(m) && !full) {
        full = true;
        port1.postMessage({ t: 'pause' });
      }
    } else if (m.t === 'end') socket.end();
    else if (m.t === 'pause') socket.pause();
    else if (m.t === 'resume') socket.resume();
    else socket.destroy();
  });
  socket.on('drain', () => {
    if (full && !closed) port1.postMessage({ t: 'resume' });
    full = false;
  });
  port1.once('close', () => { closed = true; socket.destroy(); });
  socket.on('data', (b: Buffer) => { if (!closed) port1.postMessage(own(b)); });
  socket.on('end', () => { if (!closed) port1.postMessage({ t: 'end' }); });
  socket.on('error', () => {});
  socket.once('close', () => {
    if (!closed) port1.postMessage({ t: 'destroy' });
    close();
  });
  // As http.Server does for its own sockets (noDelay: true): the worker's response reaches here as
  // separate writes (head, body), and Nagle would hold the second until the client's delayed ACK.
  socket.setNoDelay(true);
  socket.resume();
  return port2;
}

/** Worker side: the relayed connection as a socket-like Duplex for http.Server's 'connection'. */
export class RelayedSocket extends Duplex {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly remoteFamily?: string;
  private timer: NodeJS.Timeout | null = null;
  private timeoutMs = 0;
  /** This side asked the host to stop reading (its readable buffer is full). */
  private full = false;
  /** The host asked this side to hold its writes; `waiting` is the write callback held. */
  private held = false;
  private waiting: (() => void) | null = null;

  constructor(private readonly port: MessagePort, remote: { address?: string; port?: number; family?: string }) {
    super({ allowHalfOpen: true });
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteFamily = remote.family;
    port.on('message', (m: Uint8Array | Ctl) => {
      this.touch();
      if (m instanceof Uint8Array) {
        if (!this.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength)) && !this.full) {
          this.full = true;
          this.send({ t: 'pause' });
        }
      } else if (m.t === 'end') this.push(null);
      else if (m.t === 'pause') this.held = true;
      else if (m.t === 'resume') {
        this.held = false;
        const go = this.waiting;
        this.waiting = null;
        go?.();
      } else this.destroy();
    });
    port.once('close', () => this.destroy());
  }

  override _read(): void {
    if (!this.full) return;
    this.full = false;
    this.send({ t: 'resume' });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    try {
      this.port.postMessage(own(chunk));
    } catch (err) {
      return cb(err as Error);
    }
    // The host's socket is backed up: the next write waits for its drain.
    if (this.held) this.waiting = () => cb();
    else cb();
  }

  private send(m: Ctl): void {
    try { this.port.postMessage(m); } catch { /* closed */ }
  }

  override _final(cb: (err?: Error | null) => void): void {
    try { this.port.postMessage({ t: 'end' }); } catch { /* closed */ }
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer);
    this.waiting = null;
    try { this.port.postMessage({ t: 'destroy' }); } catch { /* closed */ }
    this.port.close();
    cb(err);
  }

  /** net.Socket's idle timeout, as http.Server uses it. */
  setTimeout(ms: number, cb?: () => void): this {
    if (cb) this.once('timeout', cb);
    this.timeoutMs = ms;
    this.touch();
    return this;
  }

  private touch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.timeoutMs > 0 && !this.destroyed) {
      this.timer = setTimeout(() => this.emit('timeout'), this.timeoutMs);
      this.timer.unref();
    }
  }

  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
}
