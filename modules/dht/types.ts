// The service the dht and mainline-dht modules provide (`ctx.deps.dht`): finding exports by path
// (styx-provider announces, styx-client finds), plus the raw DHT operations.
import type { Endpoint } from './address.ts';
import type { ItemValue } from './item.ts';
import type { AnnounceReport, DhtStats, GetReport, ImmutableGetReport, ImmutablePutReport, LookupReport, NodeInfo, OpReport, PutReport } from './node.ts';

/** A BEP 44 value: text (UTF-8), bytes, or an ItemValue (which may hold any bencoded value). */
export type ValueInput = string | Uint8Array | ItemValue;

/** How to reach an export: what a node publishes (signed) for one path. */
export interface ExportInfo {
  /** 9P address of the server, "HOST:PORT". */
  address: string;
  /** aname to attach with, when the server needs one. */
  aname?: string;
  /** Access details a client needs (e.g. { auth: 'secret' } or { auth: 'none' }). Small scalars only. */
  access?: Record<string, string | number | boolean>;
  /** Anything else small (kept in the signed value; the whole value must stay under 1000 bytes). */
  meta?: Record<string, string | number | boolean>;
}

/** One verified, trusted description of an export, as findExports returns it. */
export interface FoundExport extends ExportInfo {
  path: string;
  /** ed25519 public key (hex) that signed the description. */
  publicKey: string;
  /** Node name and DHT node id of the publisher, as it described itself. */
  node?: string;
  dhtId?: string;
  /** BEP 44 seq of the description (increases with every republish). */
  seq: number;
  /** Whether we published it ourselves. */
  self: boolean;
}

export interface ExportAnnouncement {
  path: string;
  infohash: string;
  /** Target of the BEP 44 item: sha1(publicKey + infohash). */
  target: string;
  seq: number;
  /** Nodes that took the announce_peer / the put. */
  announcedTo: number;
  storedOn: number;
}

export interface DhtService {
  /** 'dht' (the private cluster DHT) or 'mainline-dht'. */
  readonly flavour: string;
  publicKey(): string;
  nodeId(): string;
  address(): Endpoint;
  /** sha1(path + salt), hex: what a path is announced under. */
  infohash(path: string): string;
  /** Announces `path` (BEP 5 announce_peer) and publishes its signed description (BEP 44); republished until withdrawn. */
  announceExport(path: string, info: ExportInfo): Promise<ExportAnnouncement>;
  /** Stops republishing and publishes a withdrawal (a higher seq) so finders drop it. */
  withdrawExport(path: string): Promise<boolean>;
  /** Every trusted, verified description of `path` ([] when nobody exports it). */
  findExports(path: string, opts?: { timeoutMs?: number }): Promise<FoundExport[]>;
  /** Exports this node announces. */
  exports(): ExportAnnouncement[];
  bootstrap(entries?: string[]): Promise<OpReport & { responded: number; nodes: number }>;
  /** BEP 44 mutable item signed by the node key; salt and value as text (UTF-8) or bytes. A salt of 64 bytes at most, a value of 1000 bytes at most bencoded. */
  put(salt: string | Uint8Array, value: ValueInput): Promise<PutReport>;
  /** BEP 44 mutable get, verified (no salt or an empty one: the item put without salt). */
  get(publicKey: string, salt?: string | Uint8Array): Promise<GetReport>;
  /** BEP 44 immutable item: its target is sha1 of the bencoded value. */
  putImmutable(value: ValueInput): Promise<ImmutablePutReport>;
  /** BEP 44 immutable get of a 40-hex-digit target; what comes back must hash to it. */
  getImmutable(target: string): Promise<ImmutableGetReport>;
  announce(infohash: string, port?: number): Promise<AnnounceReport>;
  lookup(infohash: string): Promise<LookupReport>;
  nodes(): NodeInfo[];
  stats(): DhtStats;
}
