// The service the dht and mainline-dht modules provide (`ctx.deps.dht`): finding exports by path
// (styx-provider announces, styx-client finds), plus the raw DHT operations.
import type { Endpoint } from './address.ts';
import type { AnnounceReport, DhtStats, GetReport, LookupReport, NodeInfo, OpReport, PutReport } from './node.ts';

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
  put(salt: string, value: string | Buffer): Promise<PutReport>;
  get(publicKey: string, salt: string): Promise<GetReport>;
  announce(infohash: string, port?: number): Promise<AnnounceReport>;
  lookup(infohash: string): Promise<LookupReport>;
  nodes(): NodeInfo[];
  stats(): DhtStats;
}
