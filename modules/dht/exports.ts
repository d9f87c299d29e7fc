// Finding exports through the DHT. A path is announced under infohash = sha1(path + salt) with
// BEP 5 announce_peer (implied port: the peers found are the exporters' DHT endpoints) and
// described by a BEP 44 mutable item signed with the node key (salt = the infohash; value: JSON
// with the 9P address, aname, access details, node name and id; seq increasing).
//
// A finder cannot compute an item's target sha1(k + salt) without knowing k, so findExports:
//   1. get_peers(infohash) -> the exporters' DHT endpoints;
//   2. asks each one directly with a BEP 44 `get` whose target is the infohash: an exporter
//      serves its own description under that alias (a plain node just answers with nodes);
//   3. for each explicitly trusted key also gets sha1(k + infohash) from the DHT (exporters whose
//      announce was lost, or whose DHT port is unreachable);
// then verifies every signature (salt = infohash), keeps trusted keys only, highest seq per key.
import { type Identity } from 'cheshire/sdk';
import { parseEndpoint, type Endpoint } from './address.ts';
import { checkValue, itemValid, mutableTarget, sha1, type MutableItem } from './item.ts';
import type { DhtNode } from './node.ts';
import type { ExportAnnouncement, ExportInfo, FoundExport } from './types.ts';
import { dhtError } from './errors.ts';

export interface TrustPolicy {
  /** Hex public keys trusted besides our own; ['*'] trusts any valid signature (see trust.ts). */
  trust: readonly string[];
}

export interface ExportDirectoryOptions extends TrustPolicy {
  /** Cluster-wide salt: infohash = sha1(path + salt). */
  salt: string;
  /** This node's name (goes into the descriptions). */
  nodeName: string;
}

interface Published {
  info: ExportInfo;
  report: ExportAnnouncement;
}

interface Description extends ExportInfo {
  v: 1;
  path: string;
  node?: string;
  dhtId?: string;
  withdrawn?: boolean;
}

/** Normalises an export path: absolute, no empty, "." or ".." segments. */
export function exportPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (!parts.length || parts.some((p) => p === '.' || p === '..' || p.includes('\0'))) {
    throw dhtError('CHS_ERR_DHT_ARGUMENT', `export path "${path}" must be absolute, non-root, without "." or ".." segments`);
  }
  return '/' + parts.join('/');
}

function parseDescription(v: Buffer): Description | null {
  try {
    const d = JSON.parse(v.toString('utf8')) as Description;
    if (!d || d.v !== 1 || typeof d.path !== 'string') return null;
    if (!d.withdrawn && typeof d.address !== 'string') return null;
    return d;
  } catch {
    return null;
  }
}

export class ExportDirectory {
  private readonly published = new Map<string, Published>();
  private lastSeq = 0;
  private opts: ExportDirectoryOptions;

  constructor(private readonly node: DhtNode, private readonly identity: Identity, opts: ExportDirectoryOptions) {
    this.opts = opts;
  }

  /** New settings (a config change handed over the same directory); a new salt republishes everything. */
  async configure(opts: ExportDirectoryOptions): Promise<void> {
    const saltChanged = opts.salt !== this.opts.salt;
    if (saltChanged) for (const path of this.published.keys()) this.node.dropOwn(this.infohash(path), mutableTarget(this.identity.publicKey, this.infohash(path)));
    this.opts = opts;
    if (saltChanged) await this.republishAll();
  }

  infohash(path: string): Buffer {
    return sha1(exportPath(path) + this.opts.salt);
  }

  trusts(publicKey: string): boolean {
    const k = publicKey.toLowerCase();
    return k === this.identity.publicKey || this.opts.trust.includes('*') || this.opts.trust.some((t) => t.toLowerCase() === k);
  }

  /** Strictly increasing, and above anything published before a restart (time-based). */
  private nextSeq(): number {
    this.lastSeq = Math.max(this.lastSeq + 1, Date.now());
    return this.lastSeq;
  }

  private async publish(path: string, desc: Description): Promise<ExportAnnouncement> {
    const infohash = this.infohash(path);
    const value = Buffer.from(JSON.stringify(desc));
    checkValue({ v: value }, `the description of ${path}`);
    const put = await this.node.putMutable({ publicKey: this.identity.publicKey, sign: (d) => this.identity.sign(d), value, salt: infohash, seq: this.nextSeq() });
    // Serve it under the infohash too: that is how a finder that only knows the path asks us.
    this.node.serveOwn(Buffer.from(put.target, 'hex'), this.node.ownItem(Buffer.from(put.target, 'hex'))!, infohash);
    const ann = desc.withdrawn ? { stored: 0 } : await this.node.announce(infohash, 0);
    return { path, infohash: infohash.toString('hex'), target: put.target, seq: put.seq, announcedTo: ann.stored, storedOn: put.stored };
  }

  private describe(path: string, info: ExportInfo): Description {
    const d: Description = { v: 1, path, address: info.address, node: this.opts.nodeName, dhtId: this.node.id };
    if (info.aname !== undefined) d.aname = info.aname;
    if (info.access) d.access = info.access;
    if (info.meta) d.meta = info.meta;
    return d;
  }

  async announceExport(path: string, info: ExportInfo): Promise<ExportAnnouncement> {
    const p = exportPath(path);
    parseEndpoint(info.address); // must be HOST:PORT
    const report = await this.publish(p, this.describe(p, info));
    this.published.set(p, { info, report });
    return report;
  }

  async withdrawExport(path: string): Promise<boolean> {
    const p = exportPath(path);
    if (!this.published.delete(p)) return false;
    await this.publish(p, { v: 1, path: p, address: '', withdrawn: true }).catch(() => undefined);
    const infohash = this.infohash(p);
    this.node.dropOwn(infohash);
    return true;
  }

  /** Republishes every export with a new seq (the periodic refresh); failures are reported, not thrown. */
  async republishAll(): Promise<{ ok: number; failed: number }> {
    let ok = 0;
    let failed = 0;
    for (const [path, pub] of this.published) {
      try {
        pub.report = await this.publish(path, this.describe(path, pub.info));
        ok++;
      } catch {
        failed++;
      }
    }
    return { ok, failed };
  }

  list(): ExportAnnouncement[] {
    return [...this.published.values()].map((p) => p.report);
  }

  async findExports(path: string, opts: { timeoutMs?: number } = {}): Promise<FoundExport[]> {
    const p = exportPath(path);
    const infohash = this.infohash(p);
    const timeoutMs = opts.timeoutMs ?? 8000;
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(200, deadline - Date.now());
    const candidates: MutableItem[] = [];

    // Ours, if we publish it.
    const own = this.node.ownItem(mutableTarget(this.identity.publicKey, infohash));
    if (own) candidates.push(own);

    // 1 + 2: the announcers, asked directly for their description.
    const me = this.node.address();
    const lookup = await this.node.lookup(infohash, { timeoutMs: left() }).catch(() => ({ peers: [] as Endpoint[] }));
    const peers = lookup.peers.filter((peer) => !(peer.port === me.port && (peer.host === me.host || peer.host === '127.0.0.1')));
    await Promise.all(peers.slice(0, 64).map(async (peer) => {
      try {
        const r = await this.node.query(peer, 'get', { target: infohash }, Math.min(left(), 3000));
        if (Buffer.isBuffer(r.k) && Buffer.isBuffer(r.sig) && Buffer.isBuffer(r.v) && typeof r.seq === 'number') {
          candidates.push({ k: r.k, sig: r.sig, v: r.v, seq: r.seq, salt: infohash });
        }
      } catch { /* not an exporter, or gone */ }
    }));

    // 3: explicitly trusted keys, straight from the DHT.
    const keys = this.opts.trust.filter((t) => /^[0-9a-fA-F]{64}$/.test(t) && t.toLowerCase() !== this.identity.publicKey).slice(0, 32);
    await Promise.all(keys.map(async (k) => {
      try {
        const g = await this.node.getMutable(mutableTarget(k, infohash), { salt: infohash, timeoutMs: left() });
        if (g.item) candidates.push(g.item);
      } catch { /* timed out: the others may still answer */ }
    }));

    const best = new Map<string, { item: MutableItem; desc: Description }>();
    for (const item of candidates) {
      if (!itemValid(item, infohash)) continue;
      const k = item.k.toString('hex');
      if (!this.trusts(k)) continue;
      const desc = parseDescription(item.v);
      if (!desc || desc.path !== p) continue;
      const prev = best.get(k);
      if (!prev || item.seq > prev.item.seq) best.set(k, { item, desc });
    }
    const found: FoundExport[] = [];
    for (const [k, { item, desc }] of best) {
      if (desc.withdrawn) continue;
      const f: FoundExport = { path: p, publicKey: k, address: desc.address, seq: item.seq, self: k === this.identity.publicKey };
      if (desc.aname !== undefined) f.aname = desc.aname;
      if (desc.access) f.access = desc.access;
      if (desc.meta) f.meta = desc.meta;
      if (desc.node) f.node = desc.node;
      if (desc.dhtId) f.dhtId = desc.dhtId;
      found.push(f);
    }
    return found.sort((a, b) => Number(b.self) - Number(a.self) || a.publicKey.localeCompare(b.publicKey));
  }
}
