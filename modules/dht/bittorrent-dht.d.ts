// Types for the parts of bittorrent-dht (webtorrent, v11) that core/dht uses. The package ships
// none; this covers its public API plus the few internals the facade reaches on purpose (the
// k-rpc instance for queries/populate, the value store for serving our own items).
declare module 'bittorrent-dht' {
  import type { EventEmitter } from 'node:events';
  import type { Socket, RemoteInfo } from 'node:dgram';

  export interface Contact { host: string; port: number; id?: Buffer; token?: Buffer | null; seen?: number }

  /** A stored BEP 44 value (what a `put` left on a node; v as decoded: any bencoded value). */
  export interface StoredValue { v: unknown; id: Buffer; k?: Buffer; salt?: Buffer; sig?: Buffer; seq?: number }

  /** What get() resolves with: the `r` dict of the best reply. */
  export interface GetResponse { id: Buffer; v: Buffer; k?: Buffer; sig?: Buffer; seq?: number; salt?: Buffer; token?: Buffer | null }

  export type Verify = (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;

  export interface DHTOptions {
    nodeId?: Buffer | string;
    /** false = none; an array of "host:port" / contacts; true or undefined = the PUBLIC routers. */
    bootstrap?: false | Array<string | Contact>;
    host?: string | false;
    concurrency?: number;
    hash?: (data: Buffer) => Buffer;
    krpc?: unknown;
    /** Passed down to k-rpc-socket: the UDP socket to use. */
    socket?: Socket;
    /** k-rpc-socket's per-query timeout (ms, default 2000). */
    timeout?: number;
    timeBucketOutdated?: number;
    maxAge?: number;
    maxTables?: number;
    maxValues?: number;
    maxPeers?: number;
    verify?: Verify;
    k?: number;
  }

  export interface PutOptions {
    /** Any bencodable value (a Buffer for a byte string). */
    v: unknown;
    k?: Buffer;
    salt?: Buffer;
    seq?: number;
    cas?: number;
    sig?: Buffer;
    sign?: (message: Buffer) => Buffer;
  }

  interface KrpcSocket extends EventEmitter {
    inflight: number;
    timeout: number;
    socket: Socket;
    query(peer: Contact, message: unknown, cb?: (err: Error | null, res: any, peer: RemoteInfo) => void): number;
    send(peer: Contact, message: unknown, cb?: () => void): void;
  }

  interface KBucket {
    toArray(): Contact[];
    count(): number;
    closest(target: Buffer, n?: number): Contact[];
    get(id: Buffer): Contact | null;
    metadata: { lastChange: number };
  }

  interface Krpc extends EventEmitter {
    id: Buffer;
    k: number;
    socket: KrpcSocket;
    bootstrap: Contact[];
    nodes: KBucket;
    populate(target: Buffer, message: unknown, cb: (err: Error | null, n: number) => void): void;
    query(node: Contact, message: unknown, cb: (err: Error | null, res: any, peer: RemoteInfo) => void): void;
    error(peer: Contact | RemoteInfo, query: unknown, error: [number, string], cb?: () => void): void;
  }

  interface Lru {
    get(key: string): StoredValue | undefined;
    set(key: string, value: StoredValue): void;
    cache: Record<string, { value: StoredValue }>;
    length: number;
  }

  export default class DHT extends EventEmitter {
    constructor(opts?: DHTOptions);
    readonly nodeId: Buffer;
    readonly listening: boolean;
    readonly destroyed: boolean;
    readonly ready: boolean;
    nodes: KBucket;
    listen(port?: number, address?: string, onlistening?: () => void): void;
    address(): { address: string; family: string; port: number };
    addNode(node: Contact): void;
    removeNode(id: Buffer | string): void;
    put(opts: PutOptions, cb?: (err: Error | null, hash: Buffer, n: number) => void): Buffer;
    get(key: Buffer | string, opts: { verify?: Verify; salt?: Buffer; cache?: boolean } | null, cb: (err: Error | null, res: GetResponse | null) => void): void;
    announce(infoHash: Buffer | string, port: number, cb?: (err: Error | null, n?: number) => void): void;
    lookup(infoHash: Buffer | string, cb?: (err: Error | null, n?: number) => void): () => void;
    toJSON(): { nodes: Array<{ host: string; port: number }>; values: Record<string, unknown> };
    destroy(cb?: () => void): void;
    removeBucketCheckInterval(): void;
    /** internals the facade uses */
    _rpc: Krpc;
    _values: Lru;
    _peers: { get(key: string, n?: number): Buffer[]; add(key: string, peer: Buffer): void };
    _bootstrap(populate: boolean): void;
    /** Dispatch of an incoming query (looked up on the instance at each call, so it can be wrapped). */
    _onquery(query: any, peer: RemoteInfo): void;
    _validateToken(host: string, token: Buffer): boolean;
    /** Iterative lookup of `target` sending `message`; `onmessage` sees every reply (false stops). */
    _closest(target: Buffer, message: unknown, onmessage: ((message: any, node: RemoteInfo) => boolean | void) | null, cb: (err: Error | null, n?: number) => void): void;
    _setBucketCheckInterval(): void;
    _pingAll(cb: () => void): void;
  }
}
