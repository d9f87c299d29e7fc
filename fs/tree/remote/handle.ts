// An open remote file: a fid of its own, opened, until the session closes the handle. Reads
// bigger than the remote's iounit are split over parallel requests where that is safe; writes go
// out in order.
//
// Read-ahead: a reader that has read a regular file sequentially twice (each read starting where
// the last full one ended) gets the next AHEAD reads of the same size sent to the remote before it
// asks, so the remote's round trip overlaps the reader's. Only where a regular file is known to
// have data (its size from the last getattr, like the split above): a stream or a synthetic file
// sees exactly one remote read per read. Writes through the relay to the same file (any handle of
// the node) drop what was read ahead; what may be seen late, by up to AHEAD reads, is a change
// made on the remote's side while the file is being streamed (the export's read-ahead has the
// same rule). A read that is not the next one, or a short one, drops the rest.
//
// Single reads use the client's readLent: the data goes back to the client (recycle) once the
// session has written the reply (Handle.released), or when a read sent ahead is dropped, so the
// client reuses its read buffers instead of taking a fresh one per reply.

import { setMaxListeners } from 'node:events';
import { nullStat } from '../../codec/index.ts';
import type { Handle } from '../types.ts';
import { STALE } from './link.ts';
import type { Link } from './link.ts';
import type { RemoteNode } from './node.ts';

/** Reads bigger than the remote's iounit are split into at most this many parallel requests. */
const MAX_SPLIT = 16;
/** Reads kept in flight ahead of a sequential reader. */
const AHEAD = 4;

/** A read sent ahead: [offset, offset + count), and the node's write count when it was sent. */
interface Ahead { offset: bigint; count: number; writes: number; data: Promise<Uint8Array | undefined> }

export class RemoteHandle implements Handle {
  private readonly iounit: number;
  /** Where the last full read ended (-1n: none); two sequential reads in a row start the read-ahead. */
  private end = -1n;
  private streak = 0;
  private ahead: Ahead[] = [];

  constructor(private readonly node: RemoteNode, private readonly l: Link, private readonly fid: number, iounit: number) {
    const max = l.client.iounit;
    this.iounit = iounit > 0 && iounit < max ? iounit : max;
  }

  private async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.node.relay.current !== this.l) throw STALE;
    try {
      return await fn();
    } catch (err) {
      throw await this.node.relay.translate(err, this.l, signal);
    }
  }

  read(offset: bigint, count: number, signal: AbortSignal): Promise<Uint8Array> {
    const first = this.ahead[0];
    if (first && first.offset === offset && first.count === count && first.writes === this.node.writeCount && this.node.relay.current === this.l) {
      this.ahead.shift();
      return first.data.then((d) => (d ? this.served(offset, count, d) : this.readNow(offset, count, signal)));
    }
    this.dropAhead();
    return this.readNow(offset, count, signal);
  }

  /**
   * Data comes from the client's readLent: the session calls this once the reply carrying it
   * was written (Handle.released), and the client may reuse its bytes.
   */
  released(data: Uint8Array): void {
    this.l.client.recycle(data);
  }

  /** Forgets what was read ahead; its data goes back to the client as it arrives. */
  private dropAhead(): void {
    if (this.ahead.length === 0) return;
    const c = this.l.client;
    for (const a of this.ahead) void a.data.then((d) => { if (d) c.recycle(d); });
    this.ahead = [];
  }

  /** A read sent now (not read ahead), then the read-ahead bookkeeping. */
  private readNow(offset: bigint, count: number, signal: AbortSignal): Promise<Uint8Array> {
    return this.readRemote(offset, count, signal).then((d) => this.served(offset, count, d));
  }

  /** After answering [offset, offset + count) with `data`: keeps AHEAD reads in flight for a sequential reader. */
  private served(offset: bigint, count: number, data: Uint8Array): Uint8Array {
    this.streak = offset === this.end ? this.streak + 1 : 0;
    this.end = data.length === count ? offset + BigInt(count) : -1n;
    const size = this.node.sizeHint;
    if (this.end < 0n || this.streak < 1 || size === undefined || count > this.iounit) {
      this.dropAhead();
      return data;
    }
    let next = this.ahead.length > 0 ? this.ahead[this.ahead.length - 1]!.offset + BigInt(count) : this.end;
    while (this.ahead.length < AHEAD && next + BigInt(count) <= size) {
      const at = next;
      const a: Ahead = {
        offset: at, count, writes: this.node.writeCount,
        // Not tied to a request: a failure is dropped here and the read that wanted it asks again.
        data: this.l.client.readLent(this.fid, at, count).then((d) => {
          if (d.length === count) return d;
          this.l.client.recycle(d);
          return undefined;
        }, () => undefined),
      };
      this.ahead.push(a);
      next += BigInt(count);
    }
    return data;
  }

  private readRemote(offset: bigint, count: number, signal: AbortSignal): Promise<Uint8Array> {
    return this.run(async () => {
      const c = this.l.client;
      const n = this.iounit;
      // Split only where a regular file is known to have data: a stream or a synthetic file must
      // see exactly one read per read (a second one could block, or consume out of order).
      const size = this.node.sizeHint;
      const avail = size === undefined ? 0n : size - offset;
      if (count <= n || avail <= BigInt(n)) return c.readLent(this.fid, offset, Math.min(count, n), signal);
      const want = Number(avail < BigInt(count) ? avail : BigInt(count));
      const parts = Math.min(MAX_SPLIT, Math.ceil(want / n));
      // One signal of our own for the pieces (each rpc listens on it; the session's gets one listener).
      const ac = new AbortController();
      setMaxListeners(MAX_SPLIT + 1, ac.signal);
      const onAbort = (): void => ac.abort();
      signal.addEventListener('abort', onAbort, { once: true });
      let got: Uint8Array[];
      try {
        got = await Promise.all(Array.from({ length: parts }, (_, i) =>
          c.read(this.fid, offset + BigInt(i * n), Math.min(n, count - i * n), ac.signal)));
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      const out: Uint8Array[] = [];
      for (const g of got) {
        out.push(g);
        if (g.length < n) break;
      }
      return out.length === 1 ? out[0]! : Buffer.concat(out);
    }, signal);
  }

  write(offset: bigint, data: Uint8Array, signal: AbortSignal): Promise<number> {
    this.node.wrote();
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
    return writing.finally(() => this.node.wrote());
  }

  fsync(): Promise<void> {
    return this.run(async () => {
      if (this.node.relay.dialect === '9P2000.L') await this.l.client.rpc({ type: 'Tfsync', fid: this.fid });
      else await this.l.client.rpc({ type: 'Twstat', fid: this.fid, stat: nullStat(this.node.relay.dialect) });
    });
  }

  async close(): Promise<void> {
    this.dropAhead();
    // A fid of a dead connection died with it.
    if (this.node.relay.current !== this.l) return;
    await this.l.client.clunk(this.fid).catch(() => undefined);
  }
}
