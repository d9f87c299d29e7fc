// An open remote file: a fid of its own, opened, until the session closes the handle. Reads
// bigger than a piece are split over parallel requests where that is safe; writes go out in order.
//
// Pieces: a regular file whose size is known is read in remote requests of at most PIECE bytes
// whatever msize was negotiated. Replies that small arrive as views of the client's pooled 512 KiB
// read buffers (Client.readLent, fs/client/frame-reader.ts); a 1 MiB Rread is assembled in a fresh
// 1 MiB buffer instead, and fresh memory costs page faults (about 3 ms per MiB here: most of the
// relay's CPU on a bulk read). 128 KiB pieces rather than 64 KiB: half the requests per MiB for the
// relay and its remote (relay CPU 1.4 against 1.9-2.3 ms per MiB, bench/remote.ts). The server takes the pieces of one read as they are (readPieces: written behind the
// Rread's header with one writev, each given back to the client once written); read() copies
// them into a reply buffer the handle reuses once the session has written the reply
// (Handle.released), for callers that need one array.
//
// Read-ahead: a reader that reads a regular file from its start, or sequentially twice (each read
// starting where the last full one ended), gets its next reads of the same size sent to the
// remote before it asks (about READAHEAD_BYTES, 4 to 16 reads), so the remote stays busy while
// the reader takes the last answer. Only where a regular file is known to have data (its size from
// the last getattr, like the split): a stream or a synthetic file sees exactly one remote read per
// read. Writes through the relay to the same file (any handle of the node) drop what was read
// ahead; what may be seen late, by up to the read-ahead, is a change made on the remote's side
// while the file is being streamed (the export's read-ahead has the same rule). A read that is not
// the next one, or a short one, drops the rest.

import { setMaxListeners } from 'node:events';
import { IOHDRSZ, nullStat } from '../../codec/index.ts';
import type { Handle } from '../types.ts';
import { clunkLater, STALE } from './link.ts';
import type { Link, Relay } from './link.ts';

/** The most one remote read of a split asks for: its Rread is a 128 KiB frame (a quarter of a client read buffer). */
export const PIECE = 128 * 1024 - IOHDRSZ;
/** A read is split into at most this many parallel requests (more: a short read). */
const MAX_SPLIT = 32;
/** Bytes kept in flight ahead of a sequential reader... */
const READAHEAD_BYTES = 4 << 20;
/** ...in at least this many reads of the reader's size, and at most this many. */
const AHEAD_MIN = 4;
const AHEAD_MAX = 16;
/** Reply buffers a handle keeps for reuse beyond those in flight. */
const SPARE_REPLIES = 4;

/** What a handle needs of its file's node (RemoteNode). */
export interface HandleNode {
  readonly relay: Relay;
  /** The size the remote last reported (undefined: never split a read). */
  readonly sizeHint: bigint | undefined;
  /** Writes through the relay begun or ended so far: what was read ahead stands only for the same count. */
  readonly writeCount: number;
  /** A write through the relay starts or ends. */
  wrote(l: Link): void;
}

/** A read sent ahead: [offset, offset + count), and the node's write count when it was sent. */
interface Ahead { offset: bigint; count: number; writes: number; data: Promise<Uint8Array[] | undefined> }

/** Bytes in `pieces`. */
function total(pieces: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of pieces) n += p.length;
  return n;
}

export class RemoteHandle implements Handle {
  private readonly iounit: number;
  private readonly piece: number;
  /** Where the last full read ended (-1n: none); two sequential reads in a row start the read-ahead. */
  private end = -1n;
  private streak = 0;
  private ahead: Ahead[] = [];
  /** Reply buffers of split reads, by their memory; `spare` are free for the next one. */
  private readonly replies = new Map<ArrayBufferLike, Buffer>();
  private spare: Buffer[] = [];

  constructor(private readonly node: HandleNode, private readonly l: Link, private readonly fid: number, iounit: number) {
    const max = l.client.iounit;
    this.iounit = iounit > 0 && iounit < max ? iounit : max;
    this.piece = Math.min(this.iounit, PIECE);
  }

  private async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.node.relay.current !== this.l) throw STALE;
    try {
      return await fn();
    } catch (err) {
      throw await this.node.relay.translate(err, this.l, signal);
    }
  }

  /** The read's data in one array: the pieces copied into a reply buffer of ours when there are several. */
  read(offset: bigint, count: number, signal: AbortSignal): Promise<Uint8Array> {
    return this.readPieces(offset, count, signal).then((p) => this.join(p));
  }

  /**
   * The read's data as the pieces it arrived in (views lent by the client), in order: the server
   * writes them behind the Rread's header as they are (fs/tree/types.ts ReadsInPieces) and
   * gives each back through released() once written.
   */
  readPieces(offset: bigint, count: number, signal: AbortSignal): Promise<Uint8Array[]> {
    const first = this.ahead[0];
    if (first && first.offset === offset && first.count === count && first.writes === this.node.writeCount && this.node.relay.current === this.l) {
      this.ahead.shift();
      return first.data.then((d) => (d ? this.served(offset, count, d) : this.readNow(offset, count, signal)));
    }
    this.dropAhead();
    return this.readNow(offset, count, signal);
  }

  /**
   * The session is done with `data` (its reply was written): a reply buffer of ours is reused, a
   * view from the client's readLent goes back to the client.
   */
  released(data: Uint8Array): void {
    const own = this.replies.get(data.buffer);
    if (!own) { this.l.client.recycle(data); return; }
    if (this.spare.length < SPARE_REPLIES) this.spare.push(own);
    else this.replies.delete(data.buffer);
  }

  /** Forgets what was read ahead; its data is given back as it arrives. */
  private dropAhead(): void {
    if (this.ahead.length === 0) return;
    for (const a of this.ahead) void a.data.then((d) => { if (d) this.releaseAll(d); });
    this.ahead = [];
  }

  private releaseAll(pieces: readonly Uint8Array[]): void {
    for (const p of pieces) this.released(p);
  }

  /** One array of the pieces' bytes: the only piece as it is, or several copied into a reply buffer (given back at once). */
  private join(pieces: Uint8Array[]): Uint8Array {
    if (pieces.length === 1) return pieces[0]!;
    const n = total(pieces);
    if (n === 0) { this.releaseAll(pieces); return new Uint8Array(0); }
    const out = this.replyBuffer(n);
    let at = 0;
    for (const p of pieces) {
      out.set(p, at);
      at += p.length;
      this.released(p);
    }
    return out.subarray(0, n);
  }

  /** A read sent now (not read ahead), then the read-ahead bookkeeping. */
  private readNow(offset: bigint, count: number, signal: AbortSignal): Promise<Uint8Array[]> {
    return this.readRemote(offset, count, signal).then((d) => this.served(offset, count, d));
  }

  /** After answering [offset, offset + count) with `data`: keeps reads in flight ahead of a sequential reader. */
  private served(offset: bigint, count: number, data: Uint8Array[]): Uint8Array[] {
    const length = total(data);
    this.streak = offset === this.end ? this.streak + 1 : 0;
    this.end = length === count ? offset + BigInt(count) : -1n;
    const size = this.node.sizeHint;
    if (this.end < 0n || (this.streak < 1 && offset !== 0n) || size === undefined || count === 0 || count > MAX_SPLIT * this.piece) {
      this.dropAhead();
      return data;
    }
    const depth = Math.min(AHEAD_MAX, Math.max(AHEAD_MIN, Math.ceil(READAHEAD_BYTES / count)));
    let next = this.ahead.length > 0 ? this.ahead[this.ahead.length - 1]!.offset + BigInt(count) : this.end;
    while (this.ahead.length < depth && next + BigInt(count) <= size) {
      const at = next;
      // Not tied to a request: a failure or a short answer is dropped here and the read that wanted it asks again.
      const data = this.gather(at, count).then((d) => {
        if (total(d) === count) return d;
        this.releaseAll(d);
        return undefined;
      }, () => undefined);
      this.ahead.push({ offset: at, count, writes: this.node.writeCount, data });
      next += BigInt(count);
    }
    return data;
  }

  /**
   * Up to `count` bytes at `offset` of a regular file, in parallel pieces, in order; the answer
   * ends at the first short piece (the pieces after it are given back). A failed piece fails the
   * whole read (the others are given back).
   */
  private async gather(offset: bigint, count: number, signal?: AbortSignal): Promise<Uint8Array[]> {
    const c = this.l.client;
    const n = this.piece;
    if (count <= n) return [await c.readLent(this.fid, offset, count, signal)];
    const parts = Math.min(MAX_SPLIT, Math.ceil(count / n));
    const got = await Promise.allSettled(Array.from({ length: parts }, (_, i) =>
      c.readLent(this.fid, offset + BigInt(i * n), Math.min(n, count - i * n), signal)));
    let failed: unknown;
    for (const g of got) if (g.status === 'rejected') { failed = g.reason; break; }
    if (failed !== undefined) {
      for (const g of got) if (g.status === 'fulfilled') c.recycle(g.value);
      throw failed;
    }
    const out: Uint8Array[] = [];
    let short = false;
    for (const g of got) {
      const v = (g as PromiseFulfilledResult<Uint8Array>).value;
      if (short) { c.recycle(v); continue; }
      if (v.length > 0) out.push(v);
      else c.recycle(v);
      if (v.length < n) short = true;
    }
    return out;
  }

  /** A buffer of at least `n` bytes for a split read's reply: a spare one, or a new one. */
  private replyBuffer(n: number): Buffer {
    const i = this.spare.findIndex((b) => b.length >= n);
    if (i >= 0) return this.spare.splice(i, 1)[0]!;
    const b = Buffer.allocUnsafeSlow(n);
    this.replies.set(b.buffer, b);
    return b;
  }

  private readRemote(offset: bigint, count: number, signal: AbortSignal): Promise<Uint8Array[]> {
    return this.run(async () => {
      // Split only where a regular file is known to have data: a stream or a synthetic file must
      // see exactly one read per read (a second one could block, or consume out of order).
      const size = this.node.sizeHint;
      const avail = size === undefined ? 0n : size - offset;
      if (count <= this.piece || avail <= BigInt(this.piece)) {
        return [await this.l.client.readLent(this.fid, offset, Math.min(count, this.iounit), signal)];
      }
      const want = Number(avail < BigInt(count) ? avail : BigInt(count));
      // One signal of our own for the pieces (each rpc listens on it; the session's gets one listener).
      const ac = new AbortController();
      setMaxListeners(MAX_SPLIT + 1, ac.signal);
      const onAbort = (): void => ac.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await this.gather(offset, want, ac.signal);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }, signal);
  }

  write(offset: bigint, data: Uint8Array, signal: AbortSignal): Promise<number> {
    this.node.wrote(this.l);
    this.dropAhead();
    const writing = this.run(async () => {
      // In order, one piece after the other: a ctl file takes each write as one command.
      let done = 0;
      while (done < data.length || data.length === 0) {
        const piece = data.subarray(done, done + this.iounit);
        const n = await this.l.client.write(this.fid, offset + BigInt(done), piece, signal);
        done += n;
        if (n < piece.length || data.length === 0) break;
      }
      return done;
    }, signal);
    // Reads sent ahead while the write was in flight may have seen the old bytes.
    return writing.finally(() => this.node.wrote(this.l));
  }

  fsync(): Promise<void> {
    return this.run(async () => {
      if (this.node.relay.dialect === '9P2000.L') await this.l.client.rpc({ type: 'Tfsync', fid: this.fid });
      else await this.l.client.rpc({ type: 'Twstat', fid: this.fid, stat: nullStat(this.node.relay.dialect) });
    });
  }

  close(): void {
    this.dropAhead();
    // A fid of a dead connection died with it. The clunk is not waited for: the session's Rclunk
    // goes out at once (the fid number is reused only after the remote's Rclunk).
    if (this.node.relay.current !== this.l) return;
    clunkLater(this.l, this.fid);
  }
}
