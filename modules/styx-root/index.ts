// styx-root: serves the node's tree over 9P (9P2000 and 9P2000.L), by default on 127.0.0.1:6666.
// The server, its sessions and a stable root are handed from version to version, so reloading
// styx-root drops no 9P connection: fids on the root stay valid, fids deeper in the old tree get
// ESTALE (they pointed at nodes of the old version) and new walks reach the new tree.
// Other nodes reach it over TLS 1.3 on the same port (the node's certificate; docs/tls.md);
// plaintext is for this machine's clients unless `plaintext` is set.
import { chsError, formatAddress, parseHostPort, NineServer, SwitchRoot, type ModuleContext, type ServerOptions } from 'cheshire/sdk';
import { accessPolicy } from './access.ts';
import { buildTree } from './tree.ts';
import { nineMetrics } from './metrics.ts';

interface Config {
  listen: string;
  allow?: string[];
  secret?: string;
  maxConnections: number;
  maxMsize: number;
  maxPerAddress: number;
  handshakeMs: number;
  idleMs: number;
  /** Accept TLS from other nodes (with this node's certificate). */
  tls: boolean;
  /** Serve plaintext to any address, not only loopback. */
  plaintext: boolean;
  /** Node keys that may connect over TLS ("*": any key that proves itself; it is recorded). */
  peers: string[];
}

/** The TLS side of the server: the node certificate, who may connect, the plaintext rule. */
async function tlsSettings(ctx: ModuleContext<Config>): Promise<ServerOptions['tls']> {
  const c = ctx.config;
  if (!c.tls) return undefined;
  let credentials;
  try {
    credentials = await ctx.host.identity.tls();
  } catch (err) {
    ctx.log.warn(`no TLS for other nodes (the node key cannot make a certificate: ${(err as Error).message}); plaintext only`);
    return undefined;
  }
  const any = c.peers.includes('*');
  const keys = new Set(c.peers.map((k) => k.toLowerCase()));
  return {
    credentials, plaintext: c.plaintext,
    authorize: (key) => (any || keys.has(key) ? undefined : `not one of the ${keys.size} key(s) in styx-root's "peers"`),
  };
}

interface Served {
  server: NineServer;
  root: SwitchRoot;
  /** The settings the server was created with; a change needs a new server. */
  key: string;
}

export async function start(ctx: ModuleContext<Config>) {
  const { host, port } = parseHostPort(ctx.config.listen);
  let policy;
  try {
    policy = accessPolicy(host, ctx.config);
  } catch (err) {
    throw chsError('CHS_ERR_ACCESS_POLICY', `${ctx.id}: ${(err as Error).message}`);
  }
  const c = ctx.config;
  const key = JSON.stringify([c.listen, c.maxConnections, c.maxMsize, c.maxPerAddress, c.handshakeMs, c.idleMs]);
  let served = ctx.takeOver<Served>('served');
  if (served && served.key !== key) {
    await served.server.close();
    served = undefined;
  }
  const tls = await tlsSettings(ctx);
  if (served) served.server.setTls(tls);
  if (!served) {
    const root = new SwitchRoot();
    const server = new NineServer({
      attach: root.attach, auth: root.auth, maxConnections: c.maxConnections, maxMsize: c.maxMsize,
      maxPerAddress: c.maxPerAddress, handshakeMs: c.handshakeMs, idleMs: c.idleMs, tls,
      // Refusals are logged at most once a minute per reason (admission.ts); the server outlives this
      // instance across reloads, so it logs through whichever instance made it.
      log: (line) => ctx.log.warn(line),
    });
    await server.listen(port, host);
    served = { server, root, key };
  }
  ctx.handOver('served', served, async (s) => {
    s.root.set(null);
    await s.server.close();
  });
  nineMetrics(ctx, served.server);
  const tree = buildTree(ctx);
  ctx.onStop(() => tree.dispose());
  served.root.set({ root: tree.root, admit: policy.admit, auth: policy.auth });
  const addr = served.server.address!;
  const where = formatAddress(addr);
  ctx.log.info(`9P on ${where} (${policy.describe}; ${tls ? `TLS for other nodes as ${ctx.host.identity.publicKey.slice(0, 16)}…, plaintext ${c.plaintext ? 'from anywhere' : 'from loopback only'}` : 'plaintext only'}); mount: mount -t 9p -o trans=tcp,port=${addr.port},version=9p2000.L ${addr.address} /mnt/cheshire`);
  return { address: () => served.server.address, connections: () => served.server.connections, peers: () => served.server.peers() };
}
