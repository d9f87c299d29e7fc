// The seam between "a name under /net" and "which 9P servers hold it": a resolver maps a name to
// server definitions. Static imports from config are one resolver; DHT discovery is another.

export interface ServerDef {
  /** HOST:PORT of a 9P server. */
  address: string;
  aname?: string;
  version?: '9P2000' | '9P2000.u' | '9P2000.L';
  secret?: string;
  /**
   * The serving node's ed25519 key (hex): the link is TLS and refused unless the server proves
   * this key. From the signed DHT record, or an import's config.
   */
  publicKey?: string;
  /** Plaintext to a non-loopback server without a key (e.g. a diod elsewhere): only when set. */
  plaintext?: boolean;
  /**
   * The server is a Cheshire node (found through the seed or the DHT), so the graft may pipeline
   * its lookups (RemoteTree `cache.pipeline`, docs/exports.md). A configured import may be any
   * 9P server: not set.
   */
  cheshire?: boolean;
}

export interface ExportResolver {
  /** Servers for `name` (best first); empty when nobody exports it. */
  resolve(name: string): Promise<ServerDef[]>;
}

export interface ImportConfig extends ServerDef {
  name: string;
}

/** Imports listed in config: fixed names, fixed servers. */
export function staticResolver(imports: ImportConfig[]): ExportResolver & { names(): string[] } {
  const byName = new Map(imports.map((i) => [i.name, i]));
  return {
    names: () => [...byName.keys()],
    resolve: async (name) => {
      const i = byName.get(name);
      return i ? [{ address: i.address, aname: i.aname, version: i.version, secret: i.secret, publicKey: i.publicKey, plaintext: i.plaintext }] : [];
    },
  };
}

/**
 * Names of nodes in the seed's directory (through this node's seed-client): /net/NAME is the
 * whole tree of the node called NAME, at the 9P address it gave the seed, pinned to the key it
 * proved to the seed (its introduction is signed, and over wss its certificate is that key).
 */
type SeedDirectory = { nodes: Array<{ id: string; node: string; ninep: string | null }> };
export function seedResolver(seedClient: {
  $available: boolean;
  directory(): SeedDirectory | null;
  onDirectory(fn: (d: SeedDirectory) => void): () => void;
}, firstWaitMs = 2000): ExportResolver & { close(): void } {
  // The seed pushes its directory to subscribers only: subscribe on first use, wait a little for the first push.
  let first: Promise<void> | undefined;
  let unsubscribe: (() => void) | undefined;
  return {
    resolve: async (name) => {
      if (!seedClient.$available) return [];
      first ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, firstWaitMs);
        unsubscribe = seedClient.onDirectory(() => { clearTimeout(timer); resolve(); });
      });
      if (!seedClient.directory()) await first;
      const n = seedClient.directory()?.nodes.find((x) => x.node === name && x.ninep);
      return n ? [{ address: n.ninep!, aname: '', publicKey: n.id, cheshire: true }] : [];
    },
    close: () => { try { unsubscribe?.(); } catch { /* seed-client already gone */ } },
  };
}

/**
 * Names found through the DHT: /net/NAME is the export announced at `${prefix}/NAME` (the default
 * path of `styx-provider#NAME`). Only descriptions signed by trusted keys come back (the dht
 * module's `trust` list); we graft the export itself by attaching with its path as aname.
 */
export function dhtResolver(dht: { $available: boolean; findExports(path: string): Promise<Array<{ address: string; aname?: string; publicKey: string; self: boolean }>> }, prefix: string): ExportResolver {
  return {
    resolve: async (name) => {
      if (!dht.$available) return [];
      const found = await dht.findExports(`${prefix}/${name}`);
      // someone else's copy first: grafting our own export through ourselves is a last resort
      found.sort((a, b) => Number(a.self) - Number(b.self));
      return found.map((f) => ({ address: f.address, aname: f.aname ?? `${prefix}/${name}`, publicKey: f.publicKey, cheshire: true }));
    },
  };
}
