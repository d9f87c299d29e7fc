// An open remote file: a fid of its own, opened, until the session closes the handle. Reads
// bigger than the remote's iounit are split over parallel requests where that is safe; writes go
// out in order.

import { setMaxListeners } from 'node:events';
import { nullStat } from '../../codec/index.ts';
import type { Handle } from '../types.ts';
import { STALE } from './link.ts';
import type { Link } from './link.ts';
import type { RemoteNode } from './node.ts';

/** Reads bigger than the remote's iounit are split into at most this many parallel requests. */
const MAX_SPLIT = 16;

export class RemoteHandle implements Handle {
  private readonly iounit: number;

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
    return this.run(async () => {
      const c = this.l.client;
      const n = this.iounit;
      // Split only where a regular file is known to have data: a stream or a synthetic file must
      // see exactly one read per read (a second one could block, or consume out of order).
      const size = this.node.sizeHint;
      const avail = size === undefined ? 0n : size - offset;
      if (count <= n || avail <= BigInt(n)) return c.read(this.fid, offset, Math.min(count, n), signal);
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
    return this.run(async () => {
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
  }

  fsync(): Promise<void> {
    return this.run(async () => {
      if (this.node.relay.dialect === '9P2000.L') await this.l.client.rpc({ type: 'Tfsync', fid: this.fid });
      else await this.l.client.rpc({ type: 'Twstat', fid: this.fid, stat: nullStat(this.node.relay.dialect) });
    });
  }

  async close(): Promise<void> {
    // A fid of a dead connection died with it.
    if (this.node.relay.current !== this.l) return;
    await this.l.client.clunk(this.fid).catch(() => undefined);
  }
}
