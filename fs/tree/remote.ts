// A tree that relays to another 9P server (ours, diod, any 9P2000/.u/.L server): styx-provider's
// `proxy` kind and styx-client's grafts under /net/NAME. One connection per RemoteTree, shared
// and pipelined by every node and handle; see remote/node.ts for how nodes hold remote fids.
//
// Connection life: 'connecting' -> 'connected'; when the remote goes away every request in
// flight fails at once with EIO "remote HOST:PORT disconnected", the state turns 'disconnected'
// (lastError says why) and reconnection is tried with exponential backoff (minMs doubling up to
// maxMs, with jitter) until it succeeds or close() is called. Nodes and handles from an earlier
// connection answer ESTALE "remote connection was reset" — their fids died with it and are never
// silently re-pointed at the new connection's — while `root` stays the same object and works
// again as soon as the new connection is attached. Operations started while no connection is up
// fail at once with EIO (they wait only for an attempt already in progress).
//
// Events: 'state' (state, lastError) on every change; 'error' (err) when a connection attempt
// fails or the connection drops — emitted only when someone listens, so an unobserved relay
// never throws from its EventEmitter.

import { EventEmitter } from 'node:events';
import { ECANCELED, EIO, NONUNAME, NOFID, QTDIR } from '../codec/index.ts';
import type { Dialect } from '../codec/index.ts';
import { Client } from '../client/client.ts';
import type { TlsDial } from '../../base/tls/dial.ts';
import { E, FsError, NineError, RemoteError } from '../errors.ts';
import { answerChallenge } from '../server/secret-auth.ts';
import { passThrough } from './remote/convert.ts';
import { RemoteNode } from './remote/node.ts';
import type { CacheConfig, Link, Relay } from './remote/link.ts';
import { cacheConfig } from './remote/cache.ts';
import type { RemoteCacheOptions } from './remote/cache.ts';
import type { Node } from './types.ts';

export type RemoteState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface RemoteTreeOptions {
  port: number;
  host?: string;
  /** Dialect to speak to the remote (default 9P2000.L). */
  version?: Dialect;
  aname?: string;
  /** Default "cheshire". */
  uname?: string;
  /** n_uname for .u/.L attaches (default: our uid). */
  nUname?: number;
  /** msize to offer (default 1 MiB; the remote may lower it). */
  msize?: number;
  /** Shared secret for our servers' Tauth (fs/server/secret-auth.ts); without it no Tauth is sent. */
  secret?: string;
  /** Deadline for one connection attempt: connect, version, auth and attach (default 5000 ms). */
  timeoutMs?: number;
  /** TLS 1.3 with our certificate, the remote's ed25519 key pinned (Client.connect's `tls`; docs/tls.md). */
  tls?: TlsDial;
  /** Backoff between attempts (default 100 ms doubling to 10 s); false: never reconnect. */
  reconnect?: { minMs?: number; maxMs?: number } | false;
  /** The root node's name (default "/"): give the graft's name to mount it inside another tree. */
  name?: string;
  /** Kept fids and cached attributes (remote/cache.ts; docs/exports.md "Grafts: kept fids and the attribute cache"). */
  cache?: RemoteCacheOptions;
}

export interface RemoteStatus {
  state: RemoteState;
  address: string;
  dialect: Dialect;
  /** msize of the live connection. */
  msize: number | undefined;
  lastError: string | undefined;
  /** Connections made so far (reconnects = connections - 1). */
  connections: number;
  /** Consecutive failed attempts. */
  failures: number;
  /** Read buffers the live connection's client still tracks (Client.readBuffersHeld). */
  readBuffers: number | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => { setTimeout(r, ms).unref?.(); });

export class RemoteTree implements Relay {
  readonly root: Node;
  readonly events = new EventEmitter();
  readonly address: string;
  readonly dialect: Dialect;
  readonly cache: CacheConfig;
  lastError: Error | undefined;
  current: Link | undefined;
  private st: RemoteState = 'connecting';
  private attempt: Promise<Link | undefined> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  private linkSeq = 0;
  private failures = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly rootNode: RemoteNode;

  constructor(private readonly opts: RemoteTreeOptions) {
    if (!Number.isInteger(opts.port) || opts.port <= 0 || opts.port > 65535) {
      throw new FsError('CHS_ERR_9P_ARGUMENT', `RemoteTree: port must be 1..65535, got ${opts.port}`);
    }
    this.address = `${opts.host ?? '127.0.0.1'}:${opts.port}`;
    this.dialect = opts.version ?? '9P2000.L';
    this.cache = cacheConfig(opts.cache);
    this.minMs = opts.reconnect === false ? 0 : Math.max(1, opts.reconnect?.minMs ?? 100);
    this.maxMs = opts.reconnect === false ? 0 : Math.max(this.minMs, opts.reconnect?.maxMs ?? 10_000);
    this.rootNode = new RemoteNode(this, undefined, undefined, opts.name ?? '/', { type: QTDIR, version: 0, path: 0n });
    this.root = this.rootNode;
    this.tryConnect();
  }

  /** A RemoteTree whose first connection succeeded (else it is closed and the error thrown). */
  static async connect(opts: RemoteTreeOptions): Promise<RemoteTree> {
    const t = new RemoteTree(opts);
    await t.attempt;
    if (t.current) return t;
    const err = t.lastError ?? new FsError('CHS_ERR_9P_CLOSED', `remote ${t.address} unreachable`);
    await t.close();
    throw err;
  }

  get state(): RemoteState { return this.st; }

  status(): RemoteStatus {
    return {
      state: this.st, address: this.address, dialect: this.dialect, msize: this.current?.client.msize,
      lastError: this.lastError?.message, connections: this.linkSeq, failures: this.failures,
      readBuffers: this.current?.client.readBuffersHeld,
    };
  }

  /** Resolves once connected; rejects after `timeoutMs` (naming the address and the last error) or on close. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.st === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onState = (s: RemoteState): void => {
        if (s === 'connected') { done(); resolve(); }
        if (s === 'closed') { done(); reject(new FsError('CHS_ERR_9P_CLOSED', `remote ${this.address} closed while waiting for a connection`)); }
      };
      const timer = setTimeout(() => {
        done();
        reject(new FsError('CHS_ERR_9P_TIMEOUT', `remote ${this.address} not connected within ${timeoutMs} ms (state ${this.st}${this.lastError ? `, last error: ${this.lastError.message}` : ''})`));
      }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.events.off('state', onState); };
      this.events.on('state', onState);
    });
  }

  /** Stops reconnecting and closes the connection; requests in flight fail with EIO. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.timer);
      this.setState('closed');
      const cur = this.current;
      this.current = undefined;
      await Promise.allSettled([cur?.client.close(), this.attempt]);
    })();
    return this.closing;
  }

  // ---- Relay (for the nodes) ----

  async link(): Promise<Link> {
    if (this.current) return this.current;
    if (this.attempt) {
      const l = await this.attempt;
      if (l) return l;
    }
    throw this.down();
  }

  async translate(err: unknown, link: Link, signal?: AbortSignal): Promise<unknown> {
    if (err instanceof NineError) return err;
    if (err instanceof RemoteError) {
      // A server shutting down answers what is in flight (ours: ECANCELED "server shutting down")
      // and then closes: report that as the disconnection it is.
      if (!signal?.aborted && (err.errno === ECANCELED || /shutting down/i.test(err.ename))) {
        await Promise.race([link.client.closed, sleep(200)]);
        if (link.client.isClosed) return this.down();
      }
      return passThrough(err);
    }
    if (err instanceof FsError) {
      if (err.code === 'CHS_ERR_9P_CLOSED') return this.down();
      if (err.code === 'CHS_ERR_9P_ABORTED') return E.interrupted;
      return new NineError(EIO, `remote ${this.address}: ${err.message}`);
    }
    return err;
  }

  // ---- connection ----

  private down(): NineError {
    return new NineError(EIO, `remote ${this.address} ${this.closing ? 'closed' : 'disconnected'}`);
  }

  private setState(s: RemoteState): void {
    if (this.st === s) return;
    if (this.st === 'closed') return;
    this.st = s;
    this.events.emit('state', s, this.lastError);
  }

  private fail(err: Error): void {
    this.lastError = err;
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
  }

  private tryConnect(): void {
    if (this.closing) return;
    this.setState('connecting');
    const attempt = this.dial().then((l) => {
      if (this.closing) { void l.client.close(); return undefined; }
      this.failures = 0;
      this.current = l;
      void l.client.closed.then(() => this.dropped(l));
      this.setState('connected');
      return l;
    }, (err: unknown) => {
      if (this.closing) return undefined;
      this.failures++;
      this.fail(err instanceof Error ? err : new Error(String(err)));
      this.setState('disconnected');
      this.schedule();
      return undefined;
    }).finally(() => { if (this.attempt === attempt) this.attempt = undefined; });
    this.attempt = attempt;
  }

  private dropped(l: Link): void {
    if (this.current !== l) return;
    this.current = undefined;
    if (this.closing) return;
    this.fail(new FsError('CHS_ERR_9P_CLOSED', `remote ${this.address} disconnected`));
    this.setState('disconnected');
    this.schedule();
  }

  private schedule(): void {
    if (this.closing || this.opts.reconnect === false) return;
    const base = Math.min(this.maxMs, this.minMs * 2 ** Math.max(0, this.failures - 1));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.timer = setTimeout(() => this.tryConnect(), delay);
    this.timer.unref?.();
  }

  /** One attempt: connect, version, auth when a secret is set, attach. */
  private async dial(): Promise<Link> {
    const o = this.opts;
    const timeoutMs = o.timeoutMs ?? 5000;
    const started = Date.now();
    const client = await Client.connect({
      port: o.port, version: this.dialect, timeoutMs, ...(o.tls ? { tls: o.tls } : {}),
      ...(o.host !== undefined ? { host: o.host } : {}), ...(o.msize !== undefined ? { msize: o.msize } : {}),
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const left = Math.max(1, timeoutMs - (Date.now() - started));
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new FsError('CHS_ERR_9P_TIMEOUT', `remote ${this.address}: no attach within ${timeoutMs} ms`)), left);
      });
      const r = await Promise.race([this.attach(client), deadline]);
      this.rootNode.qid.type = r.qid.type;
      this.rootNode.qid.path = r.qid.path;
      this.rootNode.qid.version = r.qid.version;
      return { client, rootFid: r.fid, id: ++this.linkSeq };
    } catch (err) {
      await client.close();
      throw err instanceof RemoteError
        ? new FsError('CHS_ERR_9P_REMOTE', `remote ${this.address} refused ${err.request} (aname ${JSON.stringify(this.opts.aname ?? '')}): ${err.ename}`, { cause: err })
        : err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async attach(client: Client): Promise<{ fid: number; qid: { type: number; version: number; path: bigint } }> {
    const o = this.opts;
    const uname = o.uname ?? 'cheshire';
    const aname = o.aname ?? '';
    const nUname = o.nUname ?? process.getuid?.() ?? NONUNAME;
    const numeric = this.dialect !== '9P2000' ? { nUname } : {};
    let afid = NOFID;
    if (o.secret !== undefined) {
      afid = client.allocFid();
      await client.rpc({ type: 'Tauth', afid, uname, aname, ...numeric });
      const nonce = Buffer.from(await client.read(afid, 0, 128)).toString('utf8');
      await client.write(afid, 0, Buffer.from(answerChallenge(o.secret, nonce)));
    }
    try {
      const a = await client.attach({ uname, aname, afid, nUname });
      const { qid } = a;
      return { fid: a.fid, qid };
    } finally {
      if (afid !== NOFID) void client.clunk(afid).catch(() => undefined);
    }
  }
}
