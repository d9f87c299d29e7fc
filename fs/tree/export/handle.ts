// An open local file as a 9P Handle: positional reads and writes on a real fd (fs.promises
// FileHandle), fsync, and close when the fid is clunked. The fd was opened with O_NOFOLLOW and
// checked against the node's inode (fs/tree/export/confine.ts), so it is the file the fid walked to.
//
// Read-ahead: once a handle has been read sequentially (a read starting where the last full one
// ended), the next 512 KiB are read (two blocks of 256 KiB, each one read into one buffer and
// answered as views of it) while replies travel; a request for a chunk of a block already read is answered
// synchronously. A 9P client like diodcat keeps one read in flight, so before, every 64 KiB chunk
// waited for a thread-pool round trip after its request arrived: bench/export.ts's diodcat of
// 64 MiB went from 0.54x to 0.64-0.72x of diod, and to within ~10-20% of our server over memfs,
// where the rest of the gap is Node's socket path (bench/export.md, bench/9p.md).
// What it may change: a read can return bytes read a few round trips before its request arrived.
// Writes and truncations through this export (any fid of the node: its write count) discard what
// was read ahead, and so does a short read (end of file), so a reader following a growing file or
// reading back its own writes sees them; only a local process overwriting bytes inside a file
// while it is streamed can be seen up to 512 KiB late. A non-sequential read is a plain pread.
//
// Synchronous read-ahead (local disk file systems only, `readNow`): a block whose data is in the
// page cache is a ~30 us copy, while the thread pool costs two thread wake-ups and competes for
// the same two cores; in bench/export.ts's diodcat loop, reading blocks synchronously took our
// rate from ~0.65-0.75x to ~0.8x of diod's with a third less CPU per read. A handle starts
// reading its blocks synchronously and goes to the thread pool when two synchronous reads in a
// row took over SLOW_SYNC_NS (they waited for the disk: one alone may just have been preempted
// on a busy box); it comes back after an asynchronous block returned within FAST_ASYNC_MS (the
// file is cached again). So the event loop waits for the disk at most twice per switch to
// synchronous reads: twice for a file that is not cached, where nginx without aio blocks on
// every such read. (Starting asynchronous and switching on a fast async block, or going back
// after one slow read, left the mode to chance on a loaded box: bench/export.md.)

import { readSync } from 'node:fs';
import { ChunkPool } from '../../../base/bytes/chunk-pool.ts';
import type { FileHandle } from 'node:fs/promises';
import type { Handle, OpenMode } from '../types.ts';
import { sys, X } from './errors.ts';

const EMPTY = new Uint8Array(0);
const MAX = BigInt(Number.MAX_SAFE_INTEGER);

export interface WriteSink {
  /** Called after each successful write (qid.version bookkeeping). */
  wrote(): void;
  /** Changes through this export so far (writes, truncations): read-ahead is only valid for the same count. */
  readonly writeCount: number;
}

/**
 * Read-ahead window: two blocks of up to AHEAD_BYTES / 2, the next one read while the current one
 * is served. One thread-pool request (a readv into buffers of the request's size) per block
 * instead of one per 9P read; and a chunk already read answers synchronously, which lets the
 * session reply in place instead of through a promise.
 */
const AHEAD_BYTES = 512 << 10;
/** An asynchronous read-ahead block back within this (thread-pool hop included) came from the cache. */
const FAST_ASYNC_MS = 3;
/** A synchronous read-ahead block slower than this waited for the disk. */
const SLOW_SYNC_NS = 200_000n;

/**
 * A range read ahead in `count`-sized buffers. `got`: undefined while the read is in flight, then
 * what it read (null if it failed); `done` resolves when it has settled (it never rejects).
 */
interface Block {
  offset: number; count: number; n: number; writes: number;
  got: { bufs: Buffer[]; bytes: number } | null | undefined;
  done: Promise<void>;
  /** The pool buffer the block reads into (undefined: a block too big for the pool, left to the GC). */
  pooled: Buffer | undefined;
  /** Chunks handed out whose replies are not written yet (Handle.released). */
  out: number;
  /** No longer in the read-ahead list: its buffer goes back once `out` is 0 and its read settled. */
  dropped: boolean;
}

/**
 * Block buffers, shared by every export handle: a buffer goes back only when its block was
 * dropped, its read settled and every chunk handed out was written (Handle.released), so a
 * reply still queued for a socket never sees its bytes replaced. A fresh 256 KiB buffer per
 * block cost a page fault and a zeroing per page, and an munmap when freed: with the pool, a
 * diodcat of 64 MiB ran ~8% faster (bench/export.md).
 */
const BLOCKS = new ChunkPool(AHEAD_BYTES / 2, 16 << 20);

function returnBlock(b: Block): void {
  if (!b.pooled || !b.dropped || b.out > 0 || b.got === undefined) return;
  BLOCKS.give(b.pooled);
  b.pooled = undefined;
}

/**
 * `appendByHand`: the fd lacks O_APPEND (it is the one the create made), so appending writes go
 * to the current end of file found by fstat.
 */
export function fileHandle(fh: FileHandle, mode: OpenMode, sink: WriteSink, appendByHand: boolean, readNow = false): Handle {
  /** Read-ahead blocks are read synchronously (see the header): cleared by a slow sync read, set again by a fast async one. */
  let syncBlocks = readNow;
  /** Synchronous block reads in a row slower than SLOW_SYNC_NS. */
  let slow = 0;
  let closed: Promise<void> | undefined;
  /** Read ahead, in file order (at most two). */
  let blocks: Block[] = [];
  /** Which block a chunk handed out belongs to (for Handle.released). */
  const lent = new WeakMap<Uint8Array, Block>();
  /** Replaces the read-ahead list; blocks left out are dropped (their buffers go back when free). */
  const setBlocks = (next: Block[]): void => {
    for (const b of blocks) {
      if (next.includes(b)) continue;
      b.dropped = true;
      returnBlock(b);
    }
    blocks = next;
  };
  /** Where the last full read ended (-1: none yet); two sequential reads in a row start the read-ahead. */
  let end = -1;
  let streak = 0;
  const readAt = async (offset: number, count: number): Promise<Uint8Array> => {
    const buf = Buffer.allocUnsafe(count);
    const { bytesRead } = await sys(fh.read(buf, 0, count, offset));
    return bytesRead === 0 ? EMPTY : buf.subarray(0, bytesRead);
  };
  const block = (offset: number, count: number, n: number): Block => {
    // One buffer per block (from the pool when it fits), answered as views of it.
    const pooled = n * count <= BLOCKS.size ? BLOCKS.take() : undefined;
    const whole = pooled ? pooled.subarray(0, n * count) : Buffer.allocUnsafe(n * count);
    const bufs = Array.from({ length: n }, (_, i) => whole.subarray(i * count, (i + 1) * count));
    const b: Block = { offset, count, n, writes: sink.writeCount, got: undefined, done: Promise.resolve(), pooled, out: 0, dropped: false };
    if (syncBlocks) {
      const t0 = process.hrtime.bigint();
      try {
        b.got = { bufs, bytes: readSync(fh.fd, whole, 0, whole.length, offset) };
      } catch {
        b.got = null; // the caller reads afresh (asynchronously) and reports the error
      }
      slow = process.hrtime.bigint() - t0 > SLOW_SYNC_NS ? slow + 1 : 0;
      if (slow >= 2) syncBlocks = false;
      return b;
    }
    const t0 = performance.now();
    b.done = fh.read(whole, 0, whole.length, offset).then((r) => {
      b.got = { bufs, bytes: r.bytesRead };
      if (readNow && performance.now() - t0 < FAST_ASYNC_MS) {
        syncBlocks = true;
        slow = 0;
      }
    }, () => { b.got = null; }).finally(() => returnBlock(b));
    return b;
  };
  /**
   * The chunk at `at` of a settled block, unless it is short (end of file), the read failed or
   * something was written through us since it started: then the caller reads now, so growth,
   * errors and our own writes are seen as of now. Nor from a block dropped from the read-ahead
   * while a read waited for it (a later read went elsewhere): its buffer may be back in the pool
   * already, taken by another file's block (`done` settles after returnBlock), and a view of it
   * handed out would change under the reply.
   */
  const chunk = (b: Block, at: number, count: number): Uint8Array | undefined => {
    const i = (at - b.offset) / count;
    if (b.dropped || !b.got || b.got.bytes < (i + 1) * count || b.writes !== sink.writeCount) return undefined;
    const data = b.got.bufs[i]!;
    b.out++;
    lent.set(data, b);
    return data;
  };
  /** Bookkeeping after a read answered `data` for [at, at + count): keeps two blocks ahead of a sequential reader. */
  const served = (at: number, count: number, data: Uint8Array): Uint8Array => {
    streak = at === end ? streak + 1 : 0;
    end = data.length === count ? at + count : -1;
    if (end < 0 || streak < 1 || closed !== undefined) {
      setBlocks([]);
      return data;
    }
    const n = Math.max(1, Math.floor(AHEAD_BYTES / 2 / count));
    const keep = blocks.filter((x) => x.offset + x.n * x.count > end);
    const last = keep[keep.length - 1];
    let next = last ? last.offset + last.n * last.count : end;
    while (keep.length < 2 && next + n * count <= Number.MAX_SAFE_INTEGER) {
      keep.push(block(next, count, n));
      next += n * count;
    }
    setBlocks(keep);
    return data;
  };
  const fresh = async (at: number, count: number): Promise<Uint8Array> => {
    setBlocks([]);
    return served(at, count, await readAt(at, count));
  };
  const h: Handle = {
    ignoresSignal: true,
    // FileHandle.close waits for a read in flight (read-ahead included) before closing the fd.
    close: () => (closed ??= (setBlocks([]), fh.close())),
    released: (data) => {
      const b = lent.get(data);
      if (!b) return; // a fresh read's own buffer
      b.out--;
      returnBlock(b);
    },
    fsync: () => sys(fh.sync()),
  };
  if (mode.read) {
    h.read = (offset, count) => {
      if (offset >= MAX || count <= 0) return EMPTY;
      const at = Number(offset);
      const b = blocks.find((x) => x.count === count && at >= x.offset && at < x.offset + x.n * count && (at - x.offset) % count === 0);
      if (!b || b.writes !== sink.writeCount) return fresh(at, count);
      if (b.got !== undefined) {
        const data = chunk(b, at, count);
        return data ? served(at, count, data) : fresh(at, count);
      }
      return b.done.then(() => {
        const data = chunk(b, at, count);
        return data ? served(at, count, data) : fresh(at, count);
      });
    };
  }
  if (mode.write) {
    h.write = async (offset, data) => {
      let at: number | null = mode.append ? null : Number(offset);
      if (mode.append && appendByHand) at = Number((await sys(fh.stat({ bigint: true }))).size);
      if (at !== null && (offset >= MAX || at + data.length > Number.MAX_SAFE_INTEGER)) throw X.tooBig;
      let done = 0;
      try {
        // A regular file takes a whole write unless the disk fills up: then report what was
        // written, and the client's next write gets the error.
        while (done < data.length) {
          const { bytesWritten } = await sys(fh.write(data, done, data.length - done, at === null ? null : at + done));
          if (bytesWritten === 0) break;
          done += bytesWritten;
        }
      } catch (err) {
        if (done === 0) throw err;
      } finally {
        sink.wrote();
      }
      return done;
    };
  }
  return h;
}
