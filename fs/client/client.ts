// A pipelined 9P client: any number of requests in flight on one connection (tags allocated and
// reused), Tflush when a caller's AbortSignal fires, 9P2000 / 9P2000.u / 9P2000.L negotiation,
// and path-level helpers (readFile, writeFile, ls, stat) that work the same in every dialect.
//
// Errors: a server's Rerror/Rlerror rejects with RemoteError (ename, errno); a dropped
// connection rejects everything in flight with CHS_ERR_9P_CLOSED; an abort with
// CHS_ERR_9P_ABORTED. Callers must not pipeline requests that depend on each other (a walk and
// an open of its newfid): 9P servers may run requests in any order.

import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import {
  CodecError, decode, decodeDirents, decodeStats, DMDIR, encode, FrameSplitter, IOHDRSZ, L_O_APPEND, L_O_RDONLY,
  L_O_RDWR, L_O_TRUNC, L_O_WRONLY, MAXWELEM, MSG, NOFID, NONUNAME, NOTAG, OREAD, ORDWR, OTRUNC, OWRITE, P9_GETATTR_BASIC,
  QTDIR, S_IFDIR, VERSION_9P2000_L,
} from '../codec/index.ts';
import type { Dialect, Msg, Qid, Rgetattr, RMsg, Stat, Tcreate, TMsg } from '../codec/index.ts';
import { errnoText, FsError, RemoteError } from '../errors.ts';
import { ChunkPool } from '../../base/bytes/chunk-pool.ts';
import { FrameReader } from './frame-reader.ts';
import { LentBuffers } from './lent-buffers.ts';
import { dialTls, type TlsDial } from '../../base/tls/dial.ts';

type Body<T> = T extends unknown ? Omit<T, 'tag'> : never;

/**
 * Size of a read buffer (frame-reader.ts): room for several 64 or 128 KiB replies (diod's msize,
 * a RemoteTree's pieces), so only about one in four or eight of them straddles the end of a buffer
 * and has its first part copied to the next one. A client that only gets small replies reads
 * into the start of one buffer over and over, so most of its pages are never touched.
 */
const READ_BUFFER = 512 * 1024;
/** Read buffers shared by every client of the process (fs/client/lent-buffers.ts). */
const READ_BUFFERS = new ChunkPool(READ_BUFFER, 16 << 20);
export type Request = Body<TMsg>;
type ReplyTo<T extends Request['type']> = Extract<RMsg, { type: `R${T extends `T${infer R}` ? R : never}` }>;

export interface ConnectOptions {
  port: number;
  host?: string;
  /** Dialect to ask for (default 9P2000.L). */
  version?: Dialect;
  /** msize to offer (default 1 MiB); the server may lower it. */
  msize?: number;
  /** Deadline for connect + Tversion (default 5000 ms; the TLS handshake included). */
  timeoutMs?: number;
  /**
   * Speak TLS 1.3 with our certificate and refuse a server whose certificate's ed25519 key is not
   * `tls.expectKey` (CHS_ERR_TLS_PEER_KEY, base/tls). Without it the connection is plaintext.
   */
  tls?: TlsDial;
}

/** A directory entry or a stat, the same in every dialect. */
export interface Entry {
  name: string;
  qid: Qid;
  isDir: boolean;
  /** Permission bits. */
  mode: number;
  size: bigint;
  mtimeMs: number;
}

export type OpenAccess = 'r' | 'w' | 'rw';
export interface OpenFlags { truncate?: boolean; append?: boolean }

interface Pending {
  request: string;
  resolve(m: RMsg): void;
  reject(err: Error): void;
  /** Rejected already by an abort; the tag stays reserved until the Rflush. */
  aborted: boolean;
  cleanup?: () => void;
  /** An Rread whose data the caller gives back (readLent/recycle). */
  lend?: boolean;
}

export class Client {
  dialect: Dialect;
  msize: number;
  /** The fid of the first attach: path helpers start there. */
  root: number | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextTag = 0;
  private tagWaiters: Array<() => void> = [];
  private nextFid = 1;
  private freeFids: number[] = [];
  private closedError: FsError | undefined;
  private readonly splitter: FrameSplitter;
  private out: Uint8Array[] = [];
  private scheduled = false;
  /** Resolves when the connection has closed, for whatever reason. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket, dialect: Dialect, msize: number, private readonly lent: LentBuffers, splitter: FrameSplitter) {
    this.dialect = dialect;
    this.msize = msize;
    this.splitter = splitter;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', (err) => this.drop(new FsError('CHS_ERR_9P_CLOSED', `connection error: ${err.message}`, { cause: err })));
    socket.on('close', () => this.drop(new FsError('CHS_ERR_9P_CLOSED', 'connection closed')));
  }

  /** Connects and negotiates the version; rejects with CHS_ERR_9P_VERSION if the server will not speak it. */
  static async connect(opts: ConnectOptions): Promise<Client> {
    const host = opts.host ?? '127.0.0.1';
    const version = opts.version ?? VERSION_9P2000_L;
    const msize = opts.msize ?? 1 << 20;
    const timeoutMs = opts.timeoutMs ?? 5000;
    // Replies are read into pooled buffers (net's `onread`, frame-reader.ts), not a fresh Buffer
    // per read; Rread/Rreaddir data reaches the caller as a view of them.
    let client: Client | undefined;
    const lent = new LentBuffers(READ_BUFFERS);
    const splitter = new FrameSplitter(msize);
    let socket: Socket;
    if (opts.tls) {
      // TLS hands us decrypted chunks of its own ('data'): no reused read buffer to lend from.
      try {
        socket = await dialTls(host, opts.port, opts.tls, timeoutMs);
      } catch (err) {
        if ((err as { code?: string }).code?.startsWith('CHS_ERR_')) throw err;
        throw new FsError('CHS_ERR_9P_CLOSED', `cannot connect to ${host}:${opts.port}: ${(err as Error).message}`, { cause: err });
      }
      socket.on('data', (chunk: Buffer) => { client?.onData(chunk, true); });
    } else {
      const reader = new FrameReader(lent, splitter, (chunk) => client?.onData(chunk, false) ?? false);
      socket = netConnect({ host, port: opts.port, noDelay: true, onread: reader.onread() });
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!opts.tls) {
        await new Promise<void>((resolve, reject) => {
          timer = setTimeout(() => reject(new FsError('CHS_ERR_9P_TIMEOUT', `connecting to ${host}:${opts.port} took over ${timeoutMs} ms`)), timeoutMs);
          socket.once('connect', resolve);
          socket.once('error', (err) => reject(new FsError('CHS_ERR_9P_CLOSED', `cannot connect to ${host}:${opts.port}: ${err.message}`, { cause: err })));
        });
      }
      client = new Client(socket, version, msize, lent, splitter);
      const r = await Promise.race([
        client.rpcTagged({ type: 'Tversion', msize, version }, NOTAG).catch((err: unknown) => {
          if (!(err instanceof RemoteError)) throw err;
          throw new FsError('CHS_ERR_9P_VERSION', `${host}:${opts.port} refused version ${version} (msize ${msize}): ${err.ename}`, { cause: err });
        }),
        new Promise<never>((_, reject) => {
          clearTimeout(timer);
          timer = setTimeout(() => reject(new FsError('CHS_ERR_9P_TIMEOUT', `no Rversion from ${host}:${opts.port} within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (r.version !== version) {
        throw new FsError('CHS_ERR_9P_VERSION', `${host}:${opts.port} answered version ${JSON.stringify(r.version)} to ${version}`);
      }
      if (r.msize > msize || r.msize < 4096) throw new FsError('CHS_ERR_9P_PROTOCOL', `server msize ${r.msize} outside 4096..${msize}`);
      const c = client;
      c.msize = r.msize;
      c.splitter.maxSize = r.msize;
      return c;
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The most data one read or write carries. */
  get iounit(): number { return this.msize - IOHDRSZ; }

  get isClosed(): boolean { return this.closedError !== undefined; }

  /** Closes the connection; in-flight requests reject with CHS_ERR_9P_CLOSED. */
  async close(): Promise<void> {
    this.drop(new FsError('CHS_ERR_9P_CLOSED', 'client closed'));
    this.socket.destroy();
    await this.closed;
  }

  // ---- the request machinery ----

  /** Sends one request and resolves with its reply; Rerror/Rlerror reject with RemoteError. */
  async rpc<T extends Request>(msg: T, signal?: AbortSignal): Promise<ReplyTo<T['type']>> {
    return this.request(msg, signal, false);
  }

  private async request<T extends Request>(msg: T, signal: AbortSignal | undefined, lend: boolean): Promise<ReplyTo<T['type']>> {
    if (this.closedError) throw this.closedError;
    if (signal?.aborted) throw abortError(msg.type);
    const tag = await this.allocTag(signal);
    return this.rpcTagged(msg, tag, signal, lend) as Promise<ReplyTo<T['type']>>;
  }

  private rpcTagged<T extends Request>(msg: T, tag: number, signal?: AbortSignal, lend = false): Promise<ReplyTo<T['type']>> {
    return new Promise<RMsg>((resolve, reject) => {
      if (this.closedError) { this.freeTag(tag); reject(this.closedError); return; }
      const p: Pending = { request: msg.type, resolve, reject, aborted: false, lend };
      if (signal) {
        const onAbort = (): void => this.abort(tag, p);
        signal.addEventListener('abort', onAbort, { once: true });
        p.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      let frame: Uint8Array;
      try {
        frame = encode({ ...msg, tag } as Msg, msg.type === 'Tversion' ? undefined : this.dialect);
      } catch (err) {
        p.cleanup?.();
        this.freeTag(tag);
        reject(err instanceof CodecError ? new FsError('CHS_ERR_9P_ARGUMENT', err.reason, { cause: err }) : err as Error);
        return;
      }
      this.pending.set(tag, p);
      this.sendFrame(frame);
    }) as Promise<ReplyTo<T['type']>>;
  }

  private abort(tag: number, p: Pending): void {
    if (p.aborted || this.pending.get(tag) !== p) return;
    p.aborted = true;
    p.cleanup?.();
    p.reject(abortError(p.request));
    // Flush; the old tag is reused only after the Rflush (or a late reply, then the Rflush).
    void this.allocTag().then((ftag) => {
      if (this.closedError) return;
      const fp: Pending = {
        request: 'Tflush', aborted: false, reject: () => undefined,
        resolve: () => { if (this.pending.get(tag) === p) { this.pending.delete(tag); this.freeTag(tag); } },
      };
      this.pending.set(ftag, fp);
      this.sendFrame(encode({ type: 'Tflush', tag: ftag, oldtag: tag }));
    }, () => undefined);
  }

  private sendFrame(frame: Uint8Array): void {
    this.out.push(frame);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const out = this.out;
      this.out = [];
      if (this.closedError || out.length === 0) return;
      this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    });
  }

  /**
   * Handles bytes read; true when a reply handed out a view of them (Rread/Rreaddir data), so
   * their memory must not be reused. `detach`: the memory is reused by the next read (TLS
   * chunks: not ours to keep), so the bytes of an incomplete frame are copied out of it; the
   * FrameReader instead reads on behind them.
   */
  private onData(chunk: Buffer, detach: boolean): boolean {
    let frames: Uint8Array[];
    try {
      frames = this.splitter.push(chunk);
      if (detach) this.splitter.detach(chunk.buffer);
    } catch (err) {
      this.fatal(`bad frame from server: ${(err as Error).message}`);
      return false;
    }
    let kept = false;
    for (const f of frames) {
      // A reply whose data is handed out as a view of the read buffer: lent (readLent) or disowned.
      const held = (f[4] === MSG.Rread || f[4] === MSG.Rreaddir) && f.buffer === chunk.buffer;
      if (held) kept = true;
      let m: Msg;
      try {
        m = this.decodeReply(f);
      } catch (err) {
        if (held) this.lent.disown(chunk.buffer);
        const tag = err instanceof CodecError ? err.tag : undefined;
        const p = tag === undefined ? undefined : this.pending.get(tag);
        if (p && tag !== undefined) this.settle(tag, p, new FsError('CHS_ERR_9P_PROTOCOL', `undecodable reply to ${p.request}: ${(err as Error).message}`));
        continue;
      }
      const p = this.pending.get(m.tag);
      if (held) {
        if (p?.lend && !p.aborted && m.type === 'Rread') this.lent.lend(m.data);
        else this.lent.disown(chunk.buffer);
      }
      if (!p) continue; // a reply to nothing (or a late one after a flush): ignore
      if (m.type === 'Rerror') this.settle(m.tag, p, new RemoteError(p.request, m.ename, m.errno));
      else if (m.type === 'Rlerror') this.settle(m.tag, p, new RemoteError(p.request, errnoText(m.ecode), m.ecode));
      else if (m.type !== `R${p.request.slice(1)}`) this.settle(m.tag, p, new FsError('CHS_ERR_9P_PROTOCOL', `${m.type} in reply to ${p.request}`));
      else this.settle(m.tag, p, m as RMsg);
    }
    return kept;
  }

  /**
   * Decodes in the session's dialect; the reply to Tversion may come in another one (diod answers
   * Rlerror to a 9P2000 Tversion), so for NOTAG the other dialects are tried too.
   */
  private decodeReply(f: Uint8Array): Msg {
    try {
      return decode(f, this.dialect);
    } catch (err) {
      const tag = f.length >= 7 ? f[5]! | (f[6]! << 8) : -1;
      if (!(err instanceof CodecError) || err.kind !== 'wrong-dialect' || tag !== NOTAG) throw err;
      for (const d of ['9P2000.L', '9P2000'] as const) {
        try { return decode(f, d); } catch { /* next */ }
      }
      throw err;
    }
  }

  private settle(tag: number, p: Pending, result: RMsg | Error): void {
    if (p.aborted) return; // the Rflush frees the tag
    this.pending.delete(tag);
    if (tag !== NOTAG) this.freeTag(tag);
    p.cleanup?.();
    if (result instanceof Error) p.reject(result); else p.resolve(result);
  }

  private fatal(reason: string): void {
    this.drop(new FsError('CHS_ERR_9P_PROTOCOL', reason));
    this.socket.destroy();
  }

  private drop(err: FsError): void {
    if (this.closedError) return;
    this.closedError = err;
    const ps = [...this.pending.values()];
    this.pending.clear();
    for (const p of ps) { p.cleanup?.(); if (!p.aborted) p.reject(err); }
    const ws = this.tagWaiters;
    this.tagWaiters = [];
    for (const w of ws) w();
  }

  private allocTag(signal?: AbortSignal): Promise<number> {
    for (let i = 0; i < 0xffff; i++) {
      const t = this.nextTag;
      this.nextTag = (this.nextTag + 1) % 0xffff; // never NOTAG
      if (!this.pending.has(t)) return Promise.resolve(t);
    }
    // All 65535 tags in flight: wait for one.
    return new Promise<number>((resolve, reject) => {
      const retry = (): void => {
        if (this.closedError) { reject(this.closedError); return; }
        if (signal?.aborted) { reject(abortError('request')); return; }
        this.allocTag(signal).then(resolve, reject);
      };
      this.tagWaiters.push(retry);
    });
  }

  private freeTag(_tag: number): void {
    const w = this.tagWaiters.shift();
    if (w) queueMicrotask(w);
  }

  /** A fid number not in use by this client (numbers come back after clunk/remove). */
  allocFid(): number {
    return this.freeFids.pop() ?? this.nextFid++;
  }

  private freeFid(fid: number): void { this.freeFids.push(fid); }

  // ---- messages ----

  /** Attaches; the first attached fid becomes `root` for the path helpers. */
  async attach(opts: { aname?: string; uname?: string; nUname?: number; afid?: number } = {}): Promise<{ fid: number; qid: Qid }> {
    const fid = this.allocFid();
    const numeric = this.dialect !== '9P2000';
    try {
      const r = await this.rpc({
        type: 'Tattach', fid, afid: opts.afid ?? NOFID, uname: opts.uname ?? 'cheshire', aname: opts.aname ?? '',
        ...(numeric ? { nUname: opts.nUname ?? (process.getuid?.() ?? NONUNAME) } : {}),
      });
      this.root ??= fid;
      return { fid, qid: r.qid };
    } catch (err) {
      this.freeFid(fid);
      throw err;
    }
  }

  /**
   * Walks `names` from `fid` to a new fid. Any number of names (sent 16 at a time). A name that
   * does not exist rejects with RemoteError (the partial walk's newfid is never bound).
   */
  async walk(fid: number, names: readonly string[], signal?: AbortSignal): Promise<{ fid: number; qids: Qid[] }> {
    const qids: Qid[] = [];
    let from = fid;
    let chunk = 0;
    do {
      const part = names.slice(chunk, chunk + MAXWELEM);
      const newfid = this.allocFid();
      let r;
      try {
        r = await this.rpc({ type: 'Twalk', fid: from, newfid, wnames: part }, signal);
      } catch (err) {
        this.freeFid(newfid);
        if (from !== fid) await this.clunk(from).catch(() => undefined);
        throw err;
      }
      if (from !== fid) await this.clunk(from).catch(() => undefined);
      if (r.wqids.length < part.length) {
        // A partial walk leaves newfid unbound, but diod 1.0.24 binds it anyway: clunk it (an
        // error from a conforming server is expected and ignored) before the number is reused.
        await this.rpc({ type: 'Tclunk', fid: newfid }).catch(() => undefined);
        this.freeFid(newfid);
        throw new RemoteError('Twalk', `file does not exist: ${names.slice(0, chunk + r.wqids.length + 1).join('/')}`, 2);
      }
      qids.push(...r.wqids);
      from = newfid;
      chunk += MAXWELEM;
    } while (chunk < names.length);
    return { fid: from, qids };
  }

  /** Opens a walked fid. */
  async open(fid: number, access: OpenAccess = 'r', flags: OpenFlags = {}, signal?: AbortSignal): Promise<{ qid: Qid; iounit: number }> {
    if (this.dialect === VERSION_9P2000_L) {
      let f = access === 'r' ? L_O_RDONLY : access === 'w' ? L_O_WRONLY : L_O_RDWR;
      if (flags.truncate) f |= L_O_TRUNC;
      if (flags.append) f |= L_O_APPEND;
      return this.rpc({ type: 'Tlopen', fid, flags: f }, signal);
    }
    let mode = access === 'r' ? OREAD : access === 'w' ? OWRITE : ORDWR;
    if (flags.truncate) mode |= OTRUNC;
    return this.rpc({ type: 'Topen', fid, mode }, signal);
  }

  /** Creates `name` in directory `fid` and opens it; `fid` becomes the new file. */
  async create(fid: number, name: string, opts: { perm?: number; access?: OpenAccess; dir?: boolean } = {}): Promise<{ qid: Qid; iounit: number }> {
    const perm = opts.perm ?? (opts.dir ? 0o755 : 0o644);
    const access = opts.access ?? 'rw';
    if (this.dialect === VERSION_9P2000_L) {
      if (opts.dir) throw new FsError('CHS_ERR_9P_ARGUMENT', 'create: use mkdir for directories in 9P2000.L');
      const flags = access === 'r' ? L_O_RDONLY : access === 'w' ? L_O_WRONLY : L_O_RDWR;
      return this.rpc({ type: 'Tlcreate', fid, name, flags, mode: perm, gid: process.getgid?.() ?? 0 });
    }
    const mode = opts.dir ? OREAD : access === 'r' ? OREAD : access === 'w' ? OWRITE : ORDWR;
    const msg: Body<Tcreate> = { type: 'Tcreate', fid, name, perm: ((opts.dir ? DMDIR : 0) | perm) >>> 0, mode };
    if (this.dialect === '9P2000.u') msg.extension = '';
    return this.rpc(msg);
  }

  async read(fid: number, offset: bigint | number, count: number, signal?: AbortSignal): Promise<Uint8Array> {
    const r = await this.rpc({ type: 'Tread', fid, offset: BigInt(offset), count: Math.min(count, this.iounit) }, signal);
    return r.data;
  }

  /**
   * read(), for a caller that gives the data back with recycle() once nothing refers to it (its
   * bytes are then reused for later replies). The data may be a view of the connection's read
   * buffer; a caller that cannot promise to recycle uses read(), whose data is never reused.
   */
  async readLent(fid: number, offset: bigint | number, count: number, signal?: AbortSignal): Promise<Uint8Array> {
    const r = await this.request({ type: 'Tread', fid, offset: BigInt(offset), count: Math.min(count, this.iounit) }, signal, true);
    return r.data;
  }

  /** Gives back data from readLent (once; anything else is ignored): the client may reuse its bytes. */
  recycle(data: Uint8Array): void {
    this.lent.recycle(data);
  }

  /**
   * Read buffers this client still tracks: the one being read into and retired ones whose lent
   * data has not all come back. A few when readLent's callers recycle; it climbs towards its
   * bound (64) when they do not.
   */
  get readBuffersHeld(): number { return this.lent.tracked; }

  /** One Twrite of at most iounit bytes; returns the count the server took. */
  async write(fid: number, offset: bigint | number, data: Uint8Array, signal?: AbortSignal): Promise<number> {
    const r = await this.rpc({ type: 'Twrite', fid, offset: BigInt(offset), data: data.subarray(0, this.iounit) }, signal);
    return r.count;
  }

  /** Writes all of `data` from `offset`, in iounit pieces. */
  async writeAll(fid: number, offset: bigint | number, data: Uint8Array, signal?: AbortSignal): Promise<void> {
    let off = BigInt(offset);
    for (let at = 0; at < data.length || (at === 0 && data.length === 0);) {
      const n = await this.write(fid, off, data.subarray(at), signal);
      if (n === 0 && data.length > 0) throw new FsError('CHS_ERR_9P_PROTOCOL', 'server accepted 0 bytes of a write');
      at += n;
      off += BigInt(n);
      if (data.length === 0) break;
    }
  }

  async clunk(fid: number): Promise<void> {
    try {
      await this.rpc({ type: 'Tclunk', fid });
    } finally {
      this.freeFid(fid); // clunked even when the server complains
    }
  }

  async remove(fid: number): Promise<void> {
    try {
      await this.rpc({ type: 'Tremove', fid });
    } finally {
      this.freeFid(fid);
    }
  }

  async stat(fid: number): Promise<Stat> {
    return (await this.rpc({ type: 'Tstat', fid })).stat;
  }

  async getattr(fid: number, mask: bigint = BigInt(P9_GETATTR_BASIC)): Promise<Rgetattr> {
    return this.rpc({ type: 'Tgetattr', fid, requestMask: mask });
  }

  /** Attributes of a fid in either dialect. */
  async entry(fid: number, name: string): Promise<Entry> {
    if (this.dialect === VERSION_9P2000_L) {
      const a = await this.getattr(fid);
      return {
        name, qid: a.qid, isDir: (a.mode & S_IFDIR) === S_IFDIR || (a.qid.type & QTDIR) !== 0, mode: a.mode & 0o7777,
        size: a.size, mtimeMs: Number(a.mtimeSec) * 1000 + Math.floor(Number(a.mtimeNsec) / 1e6),
      };
    }
    return statEntry(await this.stat(fid));
  }

  /** Every entry of an opened directory fid ("." and ".." left out). .L entries carry no attributes unless `attrs`. */
  async readdir(fid: number, opts: { attrs?: boolean; signal?: AbortSignal } = {}): Promise<Entry[]> {
    const out: Entry[] = [];
    const count = this.iounit;
    if (this.dialect === VERSION_9P2000_L) {
      let offset = 0n;
      for (;;) {
        const r = await this.rpc({ type: 'Treaddir', fid, offset, count }, opts.signal);
        if (r.data.length === 0) break;
        const ds = decodeDirents(r.data);
        for (const d of ds) {
          if (d.name !== '.' && d.name !== '..') {
            out.push({ name: d.name, qid: d.qid, isDir: (d.qid.type & QTDIR) !== 0, mode: 0, size: 0n, mtimeMs: 0 });
          }
        }
        offset = ds[ds.length - 1]!.offset;
      }
      if (opts.attrs) {
        await Promise.all(out.map(async (e, i) => {
          const w = await this.walk(fid, [e.name], opts.signal).catch(() => undefined);
          if (!w) return;
          try { out[i] = await this.entry(w.fid, e.name); } catch { /* gone meanwhile */ } finally { await this.clunk(w.fid).catch(() => undefined); }
        }));
      }
      return out;
    }
    let offset = 0n;
    for (;;) {
      const r = await this.rpc({ type: 'Tread', fid, offset, count }, opts.signal);
      if (r.data.length === 0) break;
      for (const st of decodeStats(r.data, this.dialect)) out.push(statEntry(st));
      offset += BigInt(r.data.length);
    }
    return out;
  }

  // ---- path helpers (from `root`, or the fid given) ----

  private requireRoot(from?: number): number {
    const r = from ?? this.root;
    if (r === undefined) throw new FsError('CHS_ERR_9P_ARGUMENT', 'no root fid: call attach() first');
    return r;
  }

  /** A new fid for `path` ("a/b/c", leading "/" ignored). Clunk it when done. */
  async walkPath(path: string, from?: number, signal?: AbortSignal): Promise<number> {
    return (await this.walk(this.requireRoot(from), splitPath(path), signal)).fid;
  }

  /** The whole content of a file (reads until a 0-byte reply). */
  async readFile(path: string, opts: { signal?: AbortSignal; from?: number; maxBytes?: number } = {}): Promise<Buffer> {
    const fid = await this.walkPath(path, opts.from, opts.signal);
    try {
      await this.open(fid, 'r', {}, opts.signal);
      const parts: Uint8Array[] = [];
      let offset = 0n;
      const max = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
      for (;;) {
        const data = await this.read(fid, offset, this.iounit, opts.signal);
        if (data.length === 0) break;
        parts.push(data);
        offset += BigInt(data.length);
        if (offset > BigInt(max)) throw new FsError('CHS_ERR_9P_ARGUMENT', `${path} is larger than ${max} bytes`);
      }
      return Buffer.concat(parts);
    } finally {
      await this.clunk(fid).catch(() => undefined);
    }
  }

  /** Writes a file from offset 0 (truncating), creating it when missing unless `create` is false. */
  async writeFile(path: string, data: string | Uint8Array, opts: { create?: boolean; truncate?: boolean; perm?: number; from?: number; signal?: AbortSignal } = {}): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    const names = splitPath(path);
    let fid: number;
    try {
      fid = await this.walkPath(path, opts.from, opts.signal);
      try {
        await this.open(fid, 'w', { truncate: opts.truncate ?? true }, opts.signal);
      } catch (err) {
        await this.clunk(fid).catch(() => undefined);
        throw err;
      }
    } catch (err) {
      if (!(err instanceof RemoteError) || opts.create === false || names.length === 0) throw err;
      const exists = await this.walkPath(path, opts.from).then(async (f) => { await this.clunk(f).catch(() => undefined); return true; }, () => false);
      if (exists) throw err;
      fid = (await this.walk(this.requireRoot(opts.from), names.slice(0, -1), opts.signal)).fid;
      try {
        await this.create(fid, names[names.length - 1]!, { perm: opts.perm ?? 0o644, access: 'w' });
      } catch (e2) {
        await this.clunk(fid).catch(() => undefined);
        throw e2;
      }
    }
    try {
      await this.writeAll(fid, 0n, bytes, opts.signal);
    } finally {
      await this.clunk(fid).catch(() => undefined);
    }
  }

  /** Lists a directory; with `attrs` (default true) every entry carries size, mode and mtime. */
  async ls(path: string, opts: { attrs?: boolean; from?: number; signal?: AbortSignal } = {}): Promise<Entry[]> {
    const fid = await this.walkPath(path, opts.from, opts.signal);
    try {
      await this.open(fid, 'r', {}, opts.signal);
      return await this.readdir(fid, { attrs: opts.attrs ?? true, ...(opts.signal ? { signal: opts.signal } : {}) });
    } finally {
      await this.clunk(fid).catch(() => undefined);
    }
  }

  async statPath(path: string, opts: { from?: number; signal?: AbortSignal } = {}): Promise<Entry> {
    const names = splitPath(path);
    const fid = await this.walkPath(path, opts.from, opts.signal);
    try {
      return await this.entry(fid, names[names.length - 1] ?? '/');
    } finally {
      await this.clunk(fid).catch(() => undefined);
    }
  }

  /** mkdir in either dialect. */
  async mkdir(path: string, opts: { perm?: number; from?: number } = {}): Promise<Qid> {
    const names = splitPath(path);
    if (names.length === 0) throw new FsError('CHS_ERR_9P_ARGUMENT', 'mkdir: empty path');
    const dfid = (await this.walk(this.requireRoot(opts.from), names.slice(0, -1))).fid;
    try {
      if (this.dialect === VERSION_9P2000_L) {
        const r = await this.rpc({ type: 'Tmkdir', dfid, name: names[names.length - 1]!, mode: opts.perm ?? 0o755, gid: process.getgid?.() ?? 0 });
        return r.qid;
      }
      return (await this.create(dfid, names[names.length - 1]!, { dir: true, perm: opts.perm ?? 0o755 })).qid;
    } finally {
      await this.clunk(dfid).catch(() => undefined);
    }
  }

  /** Removes a file or empty directory. */
  async removePath(path: string, opts: { from?: number } = {}): Promise<void> {
    await this.remove(await this.walkPath(path, opts.from));
  }
}

function statEntry(st: Stat): Entry {
  return {
    name: st.name, qid: st.qid, isDir: (st.mode & DMDIR) !== 0, mode: st.mode & 0o7777, size: st.length,
    mtimeMs: st.mtime * 1000,
  };
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '' && s !== '.');
}

function abortError(request: string): FsError {
  return new FsError('CHS_ERR_9P_ABORTED', `${request} aborted`);
}
