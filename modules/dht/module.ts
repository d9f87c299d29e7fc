// What modules/dht and modules/mainline-dht run: a DhtNode (taken over from the previous
// version on reload, else created on the saved routing table), the export directory, periodic
// table saving and export republishing (timers cleared on stop), the mounted tree, the service.
import { type ModuleContext } from 'cheshire/sdk';
import { formatEndpoint, parseInfohash } from './address.ts';
import { ExportDirectory } from './exports.ts';
import { buildAllowList } from './guard.ts';
import { checkSalt, mutableTarget, type ItemValue } from './item.ts';
import { DhtNode } from './node.ts';
import { loadTable, saveTable } from './persist.ts';
import { dhtTree } from './tree.ts';
import type { DhtService, ValueInput } from './types.ts';
import { dhtError } from './errors.ts';
import { dhtMetrics } from './metrics.ts';
import { parseTrust } from './trust.ts';

/** A salt given as text (UTF-8) or as bytes. */
const bytes = (x: string | Uint8Array): Buffer => (typeof x === 'string' ? Buffer.from(x) : Buffer.from(x));
const valueOf = (x: ValueInput): ItemValue => (typeof x === 'string' || x instanceof Uint8Array ? { v: bytes(x) } : x);

export interface DhtModuleConfig {
  /** UDP bind address and port. */
  host: string;
  port: number;
  /** "HOST:PORT" bootstrap nodes (default none: loopback-only, nothing public). */
  bootstrap: string[];
  /** Extra addresses/CIDRs the socket may send to (loopback always may). */
  allow: string[];
  /** mainline-dht only: send to any address (needed to join the public DHT). */
  allowPublic?: boolean;
  /** Cluster-wide salt of export infohashes: sha1(path + salt). */
  salt: string;
  /** Public keys (hex) whose exports are trusted besides our own; ["*"] = any valid signature. */
  trust: string[];
  republishMs: number;
  saveMs: number;
  queryTimeoutMs: number;
  opTimeoutMs: number;
}

export interface Flavour {
  /** Service name and mount path (/dht, /mainline-dht). */
  name: 'dht' | 'mainline-dht';
  /** Whether `allowPublic` may be set. */
  publicAllowed: boolean;
}

interface Held {
  node: DhtNode;
  exports: ExportDirectory;
  /** Socket-level settings the node was created with; a change needs a new node. */
  key: string;
}

const HANDOVER = 'dht-node';
/** Bumped when DhtNode gains or changes methods the service calls (2: immutable items, judged gets). */
const NODE_API = 2;

export async function startDhtModule(ctx: ModuleContext<DhtModuleConfig>, flavour: Flavour): Promise<DhtService> {
  const cfg = ctx.config;
  if (cfg.allowPublic && !flavour.publicAllowed) {
    throw dhtError('CHS_ERR_DHT_POLICY', `${ctx.id}: allowPublic is only for mainline-dht; the cluster DHT stays private (use "allow" for LAN ranges)`);
  }
  try {
    buildAllowList(cfg.allow);
  } catch (err) {
    throw dhtError('CHS_ERR_DHT_POLICY', `${ctx.id}: ${(err as Error).message}`);
  }
  const trust = parseTrust(ctx.id, cfg.trust, { publicDht: !!cfg.allowPublic });
  const identity = ctx.host.identity;
  // NODE_API: a node made by code with other methods is not taken over but replaced (same port).
  const key = JSON.stringify([NODE_API, cfg.host, cfg.port, cfg.bootstrap, cfg.allow, !!cfg.allowPublic, cfg.queryTimeoutMs, cfg.opTimeoutMs]);
  const save = async (node: DhtNode) => {
    if (node.destroyed) return 0;
    return (await saveTable(ctx.stateDir, node)).nodes.length;
  };

  let held = ctx.takeOver<Held>(HANDOVER);
  if (held && held.key !== key) {
    await save(held.node).catch(() => undefined);
    await held.node.destroy();
    held = undefined;
  }
  const dirOpts = { salt: cfg.salt, trust, nodeName: ctx.host.node };
  if (held) {
    await held.exports.configure(dirOpts);
    ctx.log.info(`took over the DHT node on ${formatEndpoint(held.node.address())} with ${held.node.nodes().length} nodes`);
  } else {
    const saved = await loadTable(ctx.stateDir);
    const node = await DhtNode.create({
      host: cfg.host, port: cfg.port, bootstrap: cfg.bootstrap, allow: cfg.allow, allowPublic: !!cfg.allowPublic,
      nodeId: saved?.id, nodes: saved?.nodes, queryTimeoutMs: cfg.queryTimeoutMs, opTimeoutMs: cfg.opTimeoutMs,
    });
    held = { node, exports: new ExportDirectory(node, identity, dirOpts), key };
    ctx.log.info(`DHT node ${node.id} on udp ${formatEndpoint(node.address())}; ${saved?.nodes.length ?? 0} saved nodes, bootstrap ${cfg.bootstrap.join(' ') || '(none)'}; sends to ${node.guard.describe()}`);
    if (cfg.bootstrap.length || saved?.nodes.length) {
      node.bootstrap(undefined).then(
        (r) => ctx.log.info(`bootstrap: ${r.responded} responded, ${r.nodes} nodes in the table`),
        (err) => ctx.log.warn(`bootstrap: ${(err as Error).message}`),
      );
    }
  }
  const { node, exports } = held;
  ctx.handOver(HANDOVER, held, async (h) => {
    await save(h.node).catch(() => undefined);
    await h.node.destroy();
  });

  // Timers of core code are not the module's tracked ones: each is cleared by a teardown step.
  const every = (ms: number, what: string, fn: () => Promise<unknown>) => {
    const t = setInterval(() => {
      fn().catch((err) => ctx.log.warn(`${what}: ${(err as Error).message}`));
    }, ms);
    t.unref();
    ctx.onStop(() => clearInterval(t));
  };
  every(cfg.saveMs, 'saving the routing table', () => save(node));
  every(cfg.republishMs, 'republishing exports', () => exports.republishAll());
  ctx.onStop(async () => { await save(node).catch(() => undefined); });

  const svc: DhtService = {
    flavour: flavour.name,
    publicKey: () => identity.publicKey,
    nodeId: () => node.id,
    address: () => node.address(),
    infohash: (path) => exports.infohash(path).toString('hex'),
    announceExport: (path, info) => exports.announceExport(path, info),
    withdrawExport: (path) => exports.withdrawExport(path),
    findExports: (path, opts) => exports.findExports(path, opts),
    exports: () => exports.list(),
    bootstrap: (entries) => node.bootstrap(entries),
    put: async (salt, value) => {
      const s = bytes(salt);
      checkSalt(s);
      const { v, encoded } = valueOf(value);
      const prev = node.ownItem(mutableTarget(identity.publicKey, s));
      return node.putMutable({
        publicKey: identity.publicKey, sign: (d) => identity.sign(d), salt: s,
        value: v, ...(encoded ? { encoded } : {}), seq: Math.max((prev?.seq ?? 0) + 1, Date.now()),
      });
    },
    get: async (publicKey, salt = '') => {
      if (!/^[0-9a-fA-F]{64}$/.test(publicKey)) throw dhtError('CHS_ERR_DHT_ARGUMENT', `"${publicKey}" is not a 64-hex-digit public key`);
      const s = bytes(salt);
      checkSalt(s);
      return node.getMutable(mutableTarget(publicKey, s), { salt: s });
    },
    putImmutable: async (value) => node.putImmutable(valueOf(value)),
    getImmutable: async (target) => node.getImmutable(parseInfohash(target, 'target')),
    announce: (infohash, port) => node.announce(parseInfohash(infohash), port ?? 0),
    lookup: (infohash) => node.lookup(parseInfohash(infohash)),
    nodes: () => node.nodes(),
    stats: () => node.statsSnapshot(),
  };
  dhtMetrics(ctx, svc, () => node.guard.dropped);

  ctx.mount(`/${flavour.name}`, dhtTree(flavour.name, {
    svc,
    save: async () => `saved ${await save(node)} nodes\n`,
    status: () => ({
      module: ctx.id,
      node: ctx.host.node,
      'node id': node.id,
      'public key': identity.publicKey,
      udp: formatEndpoint(node.address()),
      nodes: node.nodes().length,
      bootstrap: node.bootstrapList.map(formatEndpoint),
      'sends to': node.guard.describe(),
      'dropped datagrams': node.guard.dropped,
      salt: cfg.salt,
      trust: trust.length ? trust : ['self only'],
      exports: exports.list().length,
      'up since': new Date(node.stats.startedAt).toISOString(),
    }),
  }));
  return svc;
}
