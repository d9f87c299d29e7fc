// The 9P server over TCP (node:net): one Session per connection, a connection limit, back
// pressure (reading pauses while too many requests are in flight or the socket's write buffer
// is full), and a graceful close() that answers what is outstanding, then closes the sockets.
//
// Replies produced in the same tick are written corked (one writev): with a pipelining client
// that is one syscall for many small replies. Replies a handler made synchronously while a chunk
// was being read are written as soon as the chunk is done (no microtask hop); later ones are
// batched by a microtask.

import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { FrameSplitter, MSG } from '../codec/index.ts';
import { FsError } from '../errors.ts';
import { readIntoReusedBuffer } from '../../base/bytes/reused-read.ts';
import { DEFAULT_MAX_MSIZE, Session } from './session.ts';
import type { SessionOptions, Transport } from './session.ts';

export interface ServerOptions extends SessionOptions {
  /** Concurrent connections (default 256); more are closed at once. */
  maxConnections?: number;
  /** Requests in flight per connection before reading pauses (default 256). */
  maxInflight?: number;
  /** How long close() lets sockets drain before destroying them (default 2000 ms). */
  closeTimeoutMs?: number;
}

/**
 * Accepted sockets read into one reused buffer of this size (core/sdk/reused-read.ts) instead of a
 * fresh 64 KiB one per read: room for a whole 64 KiB-msize frame (diod's and the tools' default)
 * and what follows it. Larger frames are assembled across reads. Held per connection.
 */
const READ_BUFFER = 128 * 1024;

/**
 * Replies made while one read's frames are handled go out in batches of this many, not all at
 * the end: a pipelining client (ls -l sends ~300 requests at once) starts on the first replies
 * while we make the rest. In bench/export.ts's stat walk, where every request is now answered
 * in place, that overlap was worth ~5-10% (bench/export.md).
 */
const EARLY_FLUSH = 32;

/**
 * Reading pauses while more than this is queued for the socket (it resumes at 'drain'). Not
 * write()'s return value: that is false for any write over the stream's 16 KiB high-water mark,
 * even one the kernel took at once, so every 64 KiB Rread paused and resumed reading (two
 * epoll_ctl calls and a 'drain' tick per read: ~5% of the CPU of a diodcat).
 */
const WRITE_QUEUE_MAX = 1 << 20;

interface Conn { socket: Socket; session: Session; flush(): void }

export class NineServer {
  private readonly server: Server;
  private readonly conns = new Set<Conn>();
  private closing: Promise<void> | undefined;
  private readonly maxConnections: number;
  private readonly maxInflight: number;
  /** Connections refused because of the limit (for status and tests). */
  refused = 0;

  constructor(private readonly opts: ServerOptions) {
    this.maxConnections = opts.maxConnections ?? 256;
    this.maxInflight = opts.maxInflight ?? 256;
    this.server = createServer((s) => this.handle(s));
    this.server.on('error', () => { /* reported through listen()'s promise */ });
  }

  /** Listens (port 0 picks a free one; default host 127.0.0.1) and resolves with the address. */
  listen(port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new FsError('CHS_ERR_9P_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  get address(): AddressInfo | undefined {
    const a = this.server.address();
    return a && typeof a === 'object' ? a : undefined;
  }

  get connections(): number { return this.conns.size; }

  /** Connections whose reading is paused (too much queued for the socket, or too many requests in flight). */
  get pausedConnections(): number {
    let n = 0;
    for (const c of this.conns) if (c.socket.isPaused()) n++;
    return n;
  }

  /** Serves an already connected socket (accepted here or handed over by another listener). */
  handle(socket: Socket): void {
    if (this.closing || this.conns.size >= this.maxConnections) {
      if (!this.closing) this.refused++;
      socket.destroy();
      return;
    }
    const splitter = new FrameSplitter(this.opts.maxMsize ?? DEFAULT_MAX_MSIZE);
    let out: Uint8Array[] = [];
    /** Write callbacks by index in `out` (Transport.send's `sent`, for payloads a tree reuses). */
    let hooks: Map<number, () => void> | undefined;
    let scheduled = false;
    /** Inside the 'data' handler: replies made there are flushed when it returns, without a microtask. */
    let receiving = false;
    let writeBlocked = false;
    const flush = (): void => {
      scheduled = false;
      const n = out.length;
      if (n === 0) return;
      if (socket.destroyed) { out.length = 0; hooks = undefined; return; }
      if (n === 1) { // the common single reply: no batch array
        const f = out[0]!;
        out.length = 0;
        socket.write(f);
        if (socket.writableLength > WRITE_QUEUE_MAX) writeBlocked = true;
        return;
      }
      const frames = out;
      const hk = hooks;
      out = [];
      hooks = undefined;
      // cork/uncork: one syscall (writev) for the batch without copying big Rreads together.
      socket.cork();
      for (let i = 0; i < frames.length; i++) {
        const cb = hk?.get(i);
        if (cb) socket.write(frames[i]!, () => cb());
        else socket.write(frames[i]!);
      }
      socket.uncork();
      if (socket.writableLength > WRITE_QUEUE_MAX) writeBlocked = true;
    };
    const transport: Transport = {
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      send(frame, payload, sent) {
        out.push(frame);
        if (payload) {
          out.push(payload);
          if (sent) (hooks ??= new Map()).set(out.length - 1, sent);
        }
        if (!scheduled && !receiving) { scheduled = true; queueMicrotask(flush); }
      },
      setMaxFrame(size) { splitter.maxSize = size; },
    };
    const session = new Session(transport, this.opts);
    const conn: Conn = { socket, session, flush };
    this.conns.add(conn);

    const busy = (): boolean => writeBlocked || session.pending >= this.maxInflight;
    const maybeResume = (): void => { if (!busy() && socket.isPaused()) socket.resume(); };
    session.onSettled = maybeResume;

    /** Handles one read; true when a request still in flight keeps a view of `chunk` (borrowed). */
    const onChunk = (chunk: Buffer, borrowed: boolean): boolean => {
      let kept = false;
      let frames: Uint8Array[];
      try {
        frames = splitter.push(chunk);
        // Bytes of an incomplete frame must outlive a reused buffer.
        if (borrowed) splitter.detach(chunk.buffer);
      } catch {
        // size[4] out of range: no later byte can be trusted to start a frame.
        socket.destroy();
        return false;
      }
      receiving = true;
      try {
        for (const f of frames) {
          const before = session.pending;
          session.receive(f);
          // Only a Twrite's decoded form points into its frame (its data); every other message
          // decodes to fresh values. A Twrite answered in place is done with it; one still
          // running (an async write) keeps the view, so the next read gets a fresh buffer.
          if (borrowed && f[4] === MSG.Twrite && session.pending > before && f.buffer === chunk.buffer) kept = true;
          if (out.length >= EARLY_FLUSH) flush();
        }
      } catch (err) {
        // A bug in the session itself: this connection is in an unknown state, the others are not.
        session.fault(err, 'session');
        socket.destroy();
        return false;
      } finally {
        receiving = false;
      }
      flush();
      if (busy()) socket.pause();
      return kept;
    };
    const adopted = readIntoReusedBuffer(socket, READ_BUFFER, { onRead: (chunk) => onChunk(chunk, true) });
    if (adopted) {
      socket = adopted;
      conn.socket = adopted;
    } else {
      socket.on('data', (chunk: Buffer) => { onChunk(chunk, false); });
    }
    socket.setNoDelay(true);
    socket.on('drain', () => { writeBlocked = false; maybeResume(); });
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('close', () => {
      this.conns.delete(conn);
      void session.end();
    });
  }

  /** Stops accepting, answers every outstanding request with an error, closes every socket. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
      const timeout = this.opts.closeTimeoutMs ?? 2000;
      await Promise.allSettled([...this.conns].map(async (c) => {
        await c.session.shutdown();
        c.flush();
        await new Promise<void>((resolve) => {
          if (c.socket.destroyed) { resolve(); return; }
          const timer = setTimeout(() => c.socket.destroy(), timeout);
          c.socket.once('close', () => { clearTimeout(timer); resolve(); });
          c.socket.end();
        });
      }));
      await listening;
    })();
    return this.closing;
  }
}

/** Creates a server and starts listening; resolves once it is. */
export async function listen(opts: ServerOptions & { port?: number; host?: string }): Promise<{ server: NineServer; address: AddressInfo }> {
  const server = new NineServer(opts);
  const address = await server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
  return { server, address };
}
