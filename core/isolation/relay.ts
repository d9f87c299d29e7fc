// A connection relayed into a worker thread, which cannot receive a socket: the host keeps the
// accepted socket and pumps its bytes over a MessagePort of their own (one per connection); in
// the worker a Duplex on that port is what the http.Server gets as its connection. Child
// processes get the socket itself instead (core/isolation/spawn.ts). Both ends are here.
import type { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

type Ctl = { t: 'end' } | { t: 'destroy' };

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
  port1.on('message', (m: Uint8Array | Ctl) => {
    if (m instanceof Uint8Array) socket.write(m);
    else if (m.t === 'end') socket.end();
    else socket.destroy();
  });
  port1.once('close', () => { closed = true; socket.destroy(); });
  socket.on('data', (b: Buffer) => { if (!closed) port1.postMessage(own(b)); });
  socket.on('end', () => { if (!closed) port1.postMessage({ t: 'end' }); });
  socket.on('error', () => {});
  socket.once('close', () => {
    if (!closed) port1.postMessage({ t: 'destroy' });
    close();
  });
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

  constructor(private readonly port: MessagePort, remote: { address?: string; port?: number; family?: string }) {
    super({ allowHalfOpen: true });
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteFamily = remote.family;
    port.on('message', (m: Uint8Array | Ctl) => {
      this.touch();
      if (m instanceof Uint8Array) this.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
      else if (m.t === 'end') this.push(null);
      else this.destroy();
    });
    port.once('close', () => this.destroy());
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.touch();
    try {
      this.port.postMessage(own(chunk));
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _final(cb: (err?: Error | null) => void): void {
    try { this.port.postMessage({ t: 'end' }); } catch { /* closed */ }
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.timer) clearTimeout(this.timer);
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
