// Stream files (logs, events): a growing file whose offsets mean something, and its follow view.
//
//   const log = stream('log')      the file. Its length (stat) is every byte appended so far; a
//                                  read returns the bytes at its offset, and at or past the end 0
//                                  bytes at once. So cat, tail -n, less and tail -f's polling work
//                                  through the Linux client, and diodcat and our CLI read to the end.
//   log.follower()                 'log.follow': the same bytes at the same offsets, but a read at
//                                  the end waits for the next append, except the read that continues
//                                  right where the fid's previous read returned data: that one gets
//                                  0 bytes at once.
//
// Why that exception (docs/9p.md, "Stream files"): Linux's 9P client (net/9p/client.c,
// p9_client_read) turns one read(2) into Treads until the caller's buffer is full or an Rread is
// empty. A read that blocks right after data would hold the data in the kernel: `cat` would print
// nothing and hang. With the exception, read(2) returns each batch as it comes, and the next read(2)
// (a Tread at the same offset) waits. A reader that sends one Tread per read (Plan 9, diodcat, our
// client) sees data, 0, then a wait: it follows by reading again after a 0; two 0s in a row mean
// the stream was finished. Offsets cannot tell the two clients apart (both continue at offset +
// count), which is why the follow view is a separate file and the plain one never blocks.
//
// Only the last `history` bytes are kept (whole appends). A read below them continues from the
// oldest kept byte: the fid then trails the file's offsets by what was dropped, so a slow reader
// skips what it missed instead of getting it twice.
import { QTFILE } from '../codec/constants.ts';
import { E } from '../errors.ts';
import { SynNode, type NodeOptions } from './syn-node.ts';
import type { Attr, Handle, OpenMode } from './types.ts';

const enc = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** The bytes of a stream: append-only, at absolute offsets, the last `history` bytes kept. */
export class StreamBuffer {
  private chunks: Uint8Array[] = [];
  /** Absolute offset of the first kept byte, and of the end of the data. */
  private first = 0;
  private last = 0;
  private retained = 0;
  private isEnded = false;
  private readonly waiters = new Set<() => void>();

  constructor(readonly history = 64 * 1024) {}

  get base(): number { return this.first; }
  get end(): number { return this.last; }
  get ended(): boolean { return this.isEnded; }
  /** Reads waiting for data (tests and status). */
  get waiting(): number { return this.waiters.size; }

  /** Appends bytes; returns false when the stream was finished (nothing appended). */
  append(b: Uint8Array): boolean {
    if (this.isEnded) return false;
    if (b.length === 0) return true;
    this.chunks.push(b);
    this.last += b.length;
    this.retained += b.length;
    while (this.chunks.length > 1 && this.retained - this.chunks[0]!.length >= this.history) {
      const dropped = this.chunks.shift()!;
      this.first += dropped.length;
      this.retained -= dropped.length;
    }
    this.wake();
    return true;
  }

  /** No more data: waiting and later reads at the end return 0 bytes. */
  finish(): void {
    this.isEnded = true;
    this.wake();
  }

  /** Releases every waiting read (they look again: new data, the end, or a removed node). */
  wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** Up to `count` bytes from absolute offset `from` (base <= from < end), across chunk boundaries. */
  slice(from: number, count: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let at = this.first;
    let got = 0;
    for (const c of this.chunks) {
      const cEnd = at + c.length;
      const pos = from + got;
      if (got < count && cEnd > pos) {
        const start = pos - at;
        const s = c.subarray(start, Math.min(c.length, start + count - got));
        parts.push(s);
        got += s.length;
      }
      at = cEnd;
      if (got >= count) break;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Resolves at the next append, finish or wake; rejects (EINTR) when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) { reject(E.interrupted); return; }
      const onAbort = (): void => { this.waiters.delete(wake); reject(E.interrupted); };
      const wake = (): void => { signal.removeEventListener('abort', onAbort); resolve(); };
      this.waiters.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** One open fid's reading of a StreamBuffer: its offset shift and whether its last read returned data. */
export class StreamCursor {
  /** Added to the fid's offsets once it read below the kept bytes. */
  private shift = 0;
  /** The fid offset where its previous read's data ended, or -1 (that read returned nothing). */
  private dataEnd = -1;

  constructor(private readonly buf: StreamBuffer) {}

  /** The bytes at `offset`, or undefined at or past the end. Never waits. */
  private take(offset: bigint, count: number): Uint8Array | undefined {
    if (offset >= BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const o = Number(offset);
    let s = o + this.shift;
    if (s < this.buf.base) {
      this.shift += this.buf.base - s;
      s = this.buf.base;
    }
    if (s >= this.buf.end || count <= 0) return undefined;
    const data = this.buf.slice(s, count);
    this.dataEnd = o + data.length;
    return data;
  }

  /** The plain file's read: what is there, or 0 bytes at or past the end. */
  read(offset: bigint, count: number): Uint8Array {
    return this.take(offset, count) ?? EMPTY;
  }

  /**
   * The follow view's read: what is there; at the end, 0 bytes at once if this read continues the
   * fid's previous data-returning read (or the stream is finished), else a wait for more.
   * `gone` is checked before every look (a removed node answers ESTALE).
   */
  async follow(offset: bigint, count: number, signal: AbortSignal, gone: () => boolean): Promise<Uint8Array> {
    for (;;) {
      if (gone()) throw E.removed;
      const data = this.take(offset, count);
      if (data) return data;
      if (count <= 0 || this.buf.ended || (offset < BigInt(Number.MAX_SAFE_INTEGER) && this.dataEnd === Number(offset))) {
        this.dataEnd = -1;
        return EMPTY;
      }
      await this.buf.wait(signal);
    }
  }
}

export interface StreamOptions extends NodeOptions {
  /** Bytes of recent data kept (default 64 KiB); older appends are dropped whole, from the front. */
  history?: number;
}

/**
 * A stream file (a log): appends grow it; reads never block (see the top of this file). Its
 * `follower()` is the blocking view of the same bytes, for readers that want to wait.
 */
export class SynStream extends SynNode {
  readonly buffer: StreamBuffer;
  private followNode: SynStreamFollow | undefined;

  constructor(name: string, opts: StreamOptions = {}) {
    super(name, QTFILE, 0o444, opts);
    this.buffer = new StreamBuffer(opts.history ?? 64 * 1024);
  }

  /** Appends data; a string without a trailing newline gets one (one line per call). */
  append(data: string | Uint8Array): void {
    if (this.isRemoved) return;
    const b = typeof data === 'string' ? enc.encode(data.endsWith('\n') ? data : `${data}\n`) : data;
    if (!b.length || !this.buffer.append(b)) return;
    this.mtimeMs = Date.now();
    // qid.version changes with the content (a client's cache sees the file changed), on both views.
    this.qid.version = (this.qid.version + 1) >>> 0;
    if (this.followNode) this.followNode.qid.version = this.qid.version;
  }

  /** No more data: follow reads at the end then return 0 bytes (EOF). */
  finish(): void {
    this.buffer.finish();
  }

  /** Follow reads currently waiting (tests and status). */
  get blockedReaders(): number { return this.buffer.waiting; }

  /** Bytes appended so far: the file's length. */
  get length(): number { return this.buffer.end; }

  protected override size(): bigint { return BigInt(this.buffer.end); }

  override markRemoved(): void {
    super.markRemoved();
    this.buffer.wake();
  }

  open(mode: OpenMode): Handle {
    if (mode.write) throw E.perm;
    const cursor = new StreamCursor(this.buffer);
    return {
      ignoresSignal: true,
      read: (offset, count) => {
        if (this.isRemoved) throw E.removed;
        return cursor.read(offset, count);
      },
    };
  }

  /** The follow view (created once): `NAME.follow` unless named otherwise. Put it in the same directory. */
  follower(name = `${this.name}.follow`, opts: NodeOptions = {}): SynStreamFollow {
    this.followNode ??= new SynStreamFollow(name, this, opts);
    return this.followNode;
  }
}

/** The follow view of a SynStream: same bytes, same offsets, reads at the end wait (see the top). */
export class SynStreamFollow extends SynNode {
  constructor(name: string, readonly stream: SynStream, opts: NodeOptions = {}) {
    super(name, QTFILE, 0o444, opts);
  }

  override getattr(): Attr {
    const a = this.stream.getattr();
    return { ...super.getattr(), size: a.size, atimeMs: a.mtimeMs, mtimeMs: a.mtimeMs, ctimeMs: a.mtimeMs };
  }

  override markRemoved(): void {
    super.markRemoved();
    this.stream.buffer.wake();
  }

  open(mode: OpenMode): Handle {
    if (mode.write) throw E.perm;
    const cursor = new StreamCursor(this.stream.buffer);
    const gone = (): boolean => this.isRemoved || this.stream.removed;
    return { read: (offset, count, signal) => cursor.follow(offset, count, signal, gone) };
  }
}

export function stream(name: string, opts?: StreamOptions): SynStream {
  return new SynStream(name, opts);
}
