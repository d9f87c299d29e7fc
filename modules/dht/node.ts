// DhtNode: the typed facade over bittorrent-dht (BEP 5 + BEP 44) that both DHT modules use.
// It owns one guarded UDP socket (guard.ts), never lets the library fall back to the public
// routers (the bootstrap list is always explicit, possibly empty), stores and serves the node's
// own mutable items (the library does not keep what it puts), and never answers a get from a
// cache alone (the network is asked; every reply is judged, reply.ts: forged or tampered items
// are refused and counted; the highest seq wins). Incoming queries pass query-guard.ts first.
// Every operation has a deadline and reports how many queries it sent. A module hands the same
// DhtNode to its next version on reload, so the socket and routing table survive.
import DHT, { type Contact, type StoredValue } from 'bittorrent-dht';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { dhtError } from './errors.ts';
import { formatEndpoint, parseEndpoint, resolveEndpoint, type Endpoint } from './address.ts';
import { withDeadline } from './deadline.ts';
import { guardSocket, type GuardPolicy, type SocketGuard } from './guard.ts';
import { checkSalt, checkValue, immutableTarget, itemValid, mutableTarget, sha1, signedBytes, verifyItem, wireValue, type ItemValue, type MutableItem } from './item.ts';
import { guardQueries } from './query-guard.ts';
import { judgeImmutable, judgeMutable, type Refusal, type Verdict } from './reply.ts';

export interface DhtNodeOptions extends GuardPolicy {
  /** Bind address (default 127.0.0.1). */
  host?: string;
  /** UDP port (default 0: any free port). */
  port?: number;
  /** 20-byte node id, hex (default random; modules persist theirs). */
  nodeId?: string;
  /** Bootstrap nodes, "HOST:PORT" (default none). Never the public routers unless listed here. */
  bootstrap?: readonly string[];
  /** Per-query timeout of the KRPC socket (ms, default 2000). */
  queryTimeoutMs?: number;
  /** Deadline of a whole operation (ms, default 15000). */
  opTimeoutMs?: number;
  /** Contacts to put in the routing table at once (a persisted table). */
  nodes?: ReadonlyArray<{ id?: string; host: string; port: number }>;
  /** Bucket size (default 20) and query concurrency (default 16). */
  k?: number;
  concurrency?: number;
}

export interface NodeInfo { id: string; host: string; port: number }
export interface Peer { host: string; port: number }

export interface OpReport {
  /** KRPC queries this node sent during the operation. */
  queries: number;
  ms: number;
}
export interface PutReport extends OpReport { target: string; seq: number; stored: number }
export interface GetReport extends OpReport {
  target: string;
  item: (MutableItem & { from: 'network' | 'local' }) | null;
  /** Replies that held an item and were refused (bad signature, wrong key, malformed). */
  refused: number;
}
export interface ImmutablePutReport extends OpReport { target: string; stored: number }
export interface ImmutableGetReport extends OpReport {
  target: string;
  item: (ItemValue & { from: 'network' | 'local' }) | null;
  /** Replies whose value does not hash to the target (or is malformed). */
  refused: number;
}
export interface AnnounceReport extends OpReport { infohash: string; stored: number }
export interface LookupReport extends OpReport { infohash: string; peers: Peer[]; responded: number }

export interface DhtStats {
  startedAt: number;
  queriesSent: Record<string, number>;
  queriesReceived: Record<string, number>;
  ops: Record<'put' | 'get' | 'announce' | 'lookup' | 'bootstrap', { ok: number; failed: number }>;
  /** announce_peer received: newest last (at most 32). */
  announcesReceived: Array<{ infohash: string; host: string; port: number; at: number }>;
  ownItems: number;
  storedValues: number;
  warnings: number;
  /** Items and queries refused, by reason: in replies to our gets, and in queries sent to us. */
  refused: Record<Refusal, number>;
}

const DEFAULT_OP_TIMEOUT = 15_000;

function bindSocket(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(dhtError('CHS_ERR_DHT_BIND', `cannot bind UDP ${host}:${port}: ${err.message}`, err));
    socket.once('error', onError);
    socket.bind(port, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
}

export class DhtNode {
  readonly raw: DHT;
  readonly guard: SocketGuard;
  readonly bootstrapList: Endpoint[];
  private readonly own = new Map<string, StoredValue & { item: MutableItem }>();
  private readonly opTimeoutMs: number;
  private sent = 0;
  private closed = false;
  readonly stats: DhtStats = {
    startedAt: Date.now(),
    queriesSent: {},
    queriesReceived: {},
    ops: { put: { ok: 0, failed: 0 }, get: { ok: 0, failed: 0 }, announce: { ok: 0, failed: 0 }, lookup: { ok: 0, failed: 0 }, bootstrap: { ok: 0, failed: 0 } },
    announcesReceived: [],
    ownItems: 0,
    storedValues: 0,
    warnings: 0,
    refused: { malformed: 0, signature: 0, key: 0, hash: 0, seq: 0, size: 0 },
  };

  /** Binds the socket, then starts the library on it with an explicit bootstrap list. */
  static async create(opts: DhtNodeOptions = {}): Promise<DhtNode> {
    const host = opts.host ?? '127.0.0.1';
    const bootstrap: Endpoint[] = [];
    for (const entry of opts.bootstrap ?? []) bootstrap.push(await resolveEndpoint(parseEndpoint(entry)));
    const socket = createSocket('udp4');
    const guard = guardSocket(socket, opts);
    for (const b of bootstrap) guard.allowAddress(b.host);
    try {
      await bindSocket(socket, opts.port ?? 0, host);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new DhtNode(socket, guard, bootstrap, opts);
  }

  private constructor(socket: Socket, guard: SocketGuard, bootstrap: Endpoint[], opts: DhtNodeOptions) {
    this.guard = guard;
    this.bootstrapList = bootstrap;
    this.opTimeoutMs = opts.opTimeoutMs ?? DEFAULT_OP_TIMEOUT;
    const host = opts.host ?? '127.0.0.1';
    this.raw = new DHT({
      socket,
      nodeId: opts.nodeId ? Buffer.from(opts.nodeId, 'hex') : randomBytes(20),
      // Never undefined/true: those mean the public routers (router.bittorrent.com, ...).
      bootstrap: bootstrap.map((b) => ({ host: b.host, port: b.port })),
      host: /^\d+\.\d+\.\d+\.\d+$/.test(host) && host !== '0.0.0.0' ? host : false,
      verify: verifyItem,
      timeout: opts.queryTimeoutMs ?? 2000,
      k: opts.k,
      concurrency: opts.concurrency,
      maxValues: 5000,
    });
    guardQueries(this.raw, (reason) => { this.stats.refused[reason]++; });
    for (const n of opts.nodes ?? []) this.addNode(n);
    // The socket was bound before the library got it; tell it so (this starts its bucket checks).
    socket.emit('listening');
    const rpc = this.raw._rpc;
    const query = rpc.socket.query.bind(rpc.socket);
    rpc.socket.query = (peer, message, cb) => {
      this.sent++;
      const q = String((message as { q?: unknown }).q ?? '?');
      this.stats.queriesSent[q] = (this.stats.queriesSent[q] ?? 0) + 1;
      return query(peer, message, cb);
    };
    rpc.on('query', (message: { q?: Buffer }) => {
      const q = message.q ? message.q.toString() : '?';
      this.stats.queriesReceived[q] = (this.stats.queriesReceived[q] ?? 0) + 1;
    });
    // 'announce_peer' (a peer announced to us) is emitted just before 'announce' (which also
    // fires for our own announces): record only the received ones, with the port they announced.
    let received = false;
    this.raw.on('announce_peer', () => { received = true; });
    this.raw.on('announce', (peer: Peer, infohash: Buffer) => {
      if (!received) return;
      received = false;
      this.stats.announcesReceived.push({ infohash: infohash.toString('hex'), host: peer.host, port: peer.port, at: Date.now() });
      if (this.stats.announcesReceived.length > 32) this.stats.announcesReceived.shift();
    });
    this.raw.on('warning', () => { this.stats.warnings++; });
    this.raw.on('error', () => { this.stats.warnings++; });
    // Our own items are served from our own store, which the library's LRU cannot evict.
    const values = this.raw._values;
    const get = values.get.bind(values);
    values.get = (key: string) => this.own.get(key) ?? get(key);
  }

  get id(): string { return this.raw.nodeId.toString('hex'); }
  get destroyed(): boolean { return this.closed; }

  address(): Endpoint {
    const a = this.raw.address();
    return { host: a.address, port: a.port };
  }

  nodes(): NodeInfo[] {
    return this.raw._rpc.nodes.toArray().map((n) => ({ id: n.id ? n.id.toString('hex') : '', host: n.host, port: n.port }));
  }

  /** Adds a contact: with an id it goes straight into the table; without one it is pinged first. */
  addNode(n: { id?: string; host: string; port: number }): void {
    if (!this.guard.allows(n.host)) return; // the policy would drop every datagram to it anyway
    this.raw.addNode(n.id ? { id: Buffer.from(n.id, 'hex'), host: n.host, port: n.port } : { host: n.host, port: n.port });
  }

  private live(): void {
    if (this.closed) throw dhtError('CHS_ERR_DHT_CLOSED', 'the DHT node is shutting down');
  }

  private async op<R extends OpReport>(kind: keyof DhtStats['ops'], what: string, timeoutMs: number | undefined,
    run: (resolve: (v: Omit<R, 'queries' | 'ms'>) => void, reject: (e: unknown) => void) => void): Promise<R> {
    this.live();
    const before = this.sent;
    const t0 = performance.now();
    try {
      const r = await withDeadline<Omit<R, 'queries' | 'ms'>>(what, timeoutMs ?? this.opTimeoutMs, run);
      this.stats.ops[kind].ok++;
      return { ...r, queries: this.sent - before, ms: performance.now() - t0 } as R;
    } catch (err) {
      this.stats.ops[kind].failed++;
      throw err;
    }
  }

  /**
   * Pings each entry (configured bootstrap nodes when none are given), then looks up our own id
   * so the table fills with our neighbours. Entries given here are allowed by the address guard.
   */
  async bootstrap(entries?: readonly string[], opts: { timeoutMs?: number } = {}): Promise<OpReport & { responded: number; nodes: number }> {
    this.live();
    const targets: Endpoint[] = [];
    for (const e of entries ?? []) targets.push(await resolveEndpoint(parseEndpoint(e)));
    for (const t of targets) {
      this.guard.allowAddress(t.host);
      if (!this.bootstrapList.some((b) => b.host === t.host && b.port === t.port)) {
        this.bootstrapList.push(t);
        this.raw._rpc.bootstrap.push({ host: t.host, port: t.port });
      }
    }
    const pingList = entries ? targets : this.bootstrapList;
    const rpc = this.raw._rpc;
    return this.op('bootstrap', 'bootstrap', opts.timeoutMs, (resolve) => {
      let responded = 0;
      let left = pingList.length;
      const populate = () => rpc.populate(rpc.id, { q: 'find_node', a: { id: rpc.id, target: rpc.id } }, () => {
        resolve({ responded, nodes: rpc.nodes.count() });
      });
      if (left === 0) return populate();
      for (const t of pingList) {
        rpc.query({ host: t.host, port: t.port }, { q: 'ping' }, (err) => {
          if (!err) responded++;
          if (--left === 0) populate();
        });
      }
    });
  }

  /** Puts a mutable item signed by `sign` (ed25519 over the BEP 44 signed bytes); keeps and serves it locally too. */
  async putMutable(p: { publicKey: string | Buffer; sign: (data: Buffer) => Buffer; value: Buffer; encoded?: true; salt?: Buffer; seq: number; timeoutMs?: number }): Promise<PutReport> {
    this.live();
    const k = typeof p.publicKey === 'string' ? Buffer.from(p.publicKey, 'hex') : p.publicKey;
    if (k.length !== 32) throw dhtError('CHS_ERR_DHT_ARGUMENT', 'a mutable item needs a 32-byte ed25519 public key');
    const value: ItemValue = p.encoded ? { v: p.value, encoded: true } : { v: p.value };
    checkValue(value);
    checkSalt(p.salt);
    if (!Number.isSafeInteger(p.seq) || p.seq < 0) throw dhtError('CHS_ERR_DHT_ARGUMENT', `seq ${p.seq} is not a non-negative integer`);
    const salt = p.salt && p.salt.length > 0 ? p.salt : undefined;
    const sig = p.sign(signedBytes(p.value, p.seq, salt, p.encoded));
    const item: MutableItem = { ...value, k, salt, seq: p.seq, sig };
    if (!itemValid(item, salt)) throw dhtError('CHS_ERR_DHT_ARGUMENT', 'the signature does not verify with the given public key');
    const target = mutableTarget(k, salt);
    this.serveOwn(target, item);
    return this.op<PutReport>('put', `put ${target.toString('hex')}`, p.timeoutMs, (resolve, reject) => {
      this.raw.put({ k, salt, seq: p.seq, v: wireValue(value), sig }, (err, _hash, n) => {
        // No node to store on (a lone node): the item is still served by us.
        if (err && !/No nodes to query|All queries failed/.test(err.message)) return reject(err);
        resolve({ target: target.toString('hex'), seq: p.seq, stored: err ? 0 : n ?? 0 });
      });
    });
  }

  /** Serves `item` from this node under `target` (and under `alias`, if given) until dropped. */
  serveOwn(target: Buffer, item: MutableItem, alias?: Buffer): void {
    const stored = { v: wireValue(item), k: item.k, salt: item.salt, sig: item.sig, seq: item.seq, id: this.raw.nodeId, item };
    this.own.set(target.toString('hex'), stored);
    if (alias) this.own.set(alias.toString('hex'), stored);
    this.stats.ownItems = this.own.size;
  }

  dropOwn(...keys: Buffer[]): void {
    for (const key of keys) this.own.delete(key.toString('hex'));
    this.stats.ownItems = this.own.size;
  }

  ownItem(target: Buffer): MutableItem | undefined { return this.own.get(target.toString('hex'))?.item; }

  /**
   * Asks the nodes closest to `target` for it (a BEP 44 get), judging every reply that holds an
   * item with `judge` (a forged or tampered one is refused and counted); `keep` chooses between
   * valid ones and may end the lookup early (false).
   */
  private lookupItem<T>(target: Buffer, timeoutMs: number | undefined, judge: (r: unknown) => Verdict<T>, keep: (found: T) => boolean): Promise<OpReport & { target: string; refused: number }> {
    let refused = 0;
    return this.op('get', `get ${target.toString('hex')}`, timeoutMs, (resolve, reject) => {
      const onReply = (message: { r?: unknown }): boolean => {
        try {
          const v = judge(message.r);
          if (!v) return true;
          if ('refused' in v) {
            refused++;
            this.stats.refused[v.refused]++;
            return true;
          }
          return keep(v.ok);
        } catch {
          refused++;
          this.stats.refused.malformed++;
          return true;
        }
      };
      this.raw._closest(target, { q: 'get', a: { id: this.raw._rpc.id, target } }, onReply, (err) => {
        if (err) return reject(err);
        resolve({ target: target.toString('hex'), refused });
      });
    });
  }

  /**
   * Gets the mutable item at `target` from the network (never from a cache alone), verified with
   * `salt`: the highest seq among valid replies; a local copy (ours, or one stored here by a put)
   * only wins if its seq is higher.
   */
  async getMutable(target: Buffer, opts: { salt?: Buffer; timeoutMs?: number } = {}): Promise<GetReport> {
    const salt = opts.salt && opts.salt.length > 0 ? opts.salt : undefined;
    let best: MutableItem | null = null;
    const r = await this.lookupItem<MutableItem>(target, opts.timeoutMs, (reply) => judgeMutable(reply, target, salt), (item) => {
      if (!best || item.seq > best.seq) best = item;
      return true;
    });
    const found = best as MutableItem | null;
    const report: GetReport = { ...r, item: found ? { ...found, from: 'network' } : null };
    const local = this.raw._values.get(target.toString('hex'));
    const mine = local ? judgeMutable(local, target, salt) : null;
    if (mine && 'ok' in mine && (!report.item || mine.ok.seq > report.item.seq)) report.item = { ...mine.ok, from: 'local' };
    return report;
  }

  /** Puts an immutable item (target = sha1 of the bencoded value); the library keeps it in its value store too. */
  async putImmutable(value: ItemValue, opts: { timeoutMs?: number } = {}): Promise<ImmutablePutReport> {
    this.live();
    checkValue(value);
    const target = immutableTarget(value);
    return this.op<ImmutablePutReport>('put', `put ${target.toString('hex')}`, opts.timeoutMs, (resolve, reject) => {
      const key = this.raw.put({ v: wireValue(value) }, (err, _hash, n) => {
        if (err && !/No nodes to query|All queries failed/.test(err.message)) return reject(err);
        resolve({ target: target.toString('hex'), stored: err ? 0 : n ?? 0 });
      });
      // The library hashes its own encoding of the value; both must name the same target.
      if (!key.equals(target)) reject(dhtError('CHS_ERR_DHT_BENCODE', `the value encodes differently in bittorrent-dht (target ${key.toString('hex')}, not ${target.toString('hex')})`));
    });
  }

  /** Gets the immutable item `target` from the network, or from this node's value store; its sha1 is checked either way. */
  async getImmutable(target: Buffer, opts: { timeoutMs?: number } = {}): Promise<ImmutableGetReport> {
    let found: ItemValue | null = null;
    const r = await this.lookupItem<ItemValue>(target, opts.timeoutMs, (reply) => judgeImmutable(reply, target), (value) => {
      found = value;
      return false;
    });
    const item = found as ItemValue | null;
    const report: ImmutableGetReport = { ...r, item: item ? { ...item, from: 'network' } : null };
    if (!report.item) {
      const local = this.raw._values.get(target.toString('hex'));
      const mine = local ? judgeImmutable(local, target) : null;
      if (mine && 'ok' in mine) report.item = { ...mine.ok, from: 'local' };
    }
    return report;
  }

  /** BEP 5 announce_peer of `infohash` to the closest nodes; port 0 = implied (our DHT port). */
  announce(infohash: Buffer, port = 0, opts: { timeoutMs?: number } = {}): Promise<AnnounceReport> {
    return this.op<AnnounceReport>('announce', `announce ${infohash.toString('hex')}`, opts.timeoutMs, (resolve, reject) => {
      this.raw.announce(infohash, port, (err, n) => {
        if (err && !/No nodes to query|All queries failed/.test(err.message)) return reject(err);
        resolve({ infohash: infohash.toString('hex'), stored: err ? 0 : n ?? 0 });
      });
    });
  }

  /** BEP 5 get_peers of `infohash`: the peers found (ours included), deduplicated. */
  lookup(infohash: Buffer, opts: { timeoutMs?: number } = {}): Promise<LookupReport> {
    const seen = new Map<string, Peer>();
    const onPeer = (peer: Peer, ih: Buffer) => {
      if (ih.equals(infohash)) seen.set(`${peer.host}:${peer.port}`, { host: peer.host, port: peer.port });
    };
    this.raw.on('peer', onPeer);
    let abort: (() => void) | undefined;
    return this.op<LookupReport>('lookup', `lookup ${infohash.toString('hex')}`, opts.timeoutMs, (resolve, reject) => {
      abort = this.raw.lookup(infohash, (err, n) => {
        if (err) return reject(err);
        // local peers are emitted on the next tick; the callback can come first on a lone node
        setImmediate(() => resolve({ infohash: infohash.toString('hex'), peers: [...seen.values()], responded: n ?? 0 }));
      });
    }).finally(() => {
      abort?.();
      setImmediate(() => this.raw.off('peer', onPeer));
    });
  }

  /** One KRPC query to one node (a direct `get` of an export description, a ping). */
  query(to: Endpoint, q: string, a: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, any>> {
    this.live();
    return withDeadline(`${q} to ${formatEndpoint(to)}`, timeoutMs ?? this.opTimeoutMs, (resolve, reject) => {
      this.raw._rpc.query({ host: to.host, port: to.port }, { q, a: { ...a } }, (err, res) => {
        if (err) return reject(err);
        resolve((res?.r ?? {}) as Record<string, any>);
      });
    });
  }

  /** Contacts worth persisting (the routing table). */
  snapshot(): { id: string; nodes: NodeInfo[] } {
    return { id: this.id, nodes: this.nodes().filter((n) => n.id) };
  }

  statsSnapshot(): DhtStats & { nodes: number; guard: { sent: number; dropped: number; droppedTo: readonly string[]; policy: string } } {
    this.stats.storedValues = this.raw._values.length;
    return {
      ...this.stats,
      nodes: this.raw._rpc.nodes.count(),
      guard: { sent: this.guard.sent, dropped: this.guard.dropped, droppedTo: this.guard.droppedTo, policy: this.guard.describe() },
    };
  }

  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await withDeadline<void>('closing the DHT socket', 2000, (resolve) => this.raw.destroy(() => resolve())).catch(() => undefined);
  }
}

export { sha1, mutableTarget, type Contact, type Endpoint };
