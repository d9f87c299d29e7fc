// A Cheshire node running styx-root and DHT modules (dht, mainline-dht) on loopback for DHT tests,
// with its 9P ctl reachable: ctl(path, command) writes one command and reads the answer back from
// the same fid, and a refused command rejects with the 9P error text. Plain DhtNodes on loopback
// (peers, attackers) are made with peer() and destroyed by close(). Nothing is bootstrapped from
// outside loopback: every node gets an explicit (loopback) bootstrap list.
import { generateKeyPairSync } from 'node:crypto';
import type { Client } from '../../fs/client/client.ts';
import { identityFromKey, type Identity } from '../../core/identity.ts';
import { DhtNode, type DhtNodeOptions } from '../../modules/dht/node.ts';
import type { DhtService } from '../../modules/dht/types.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';

export const FAST = { port: 0, queryTimeoutMs: 500, opTimeoutMs: 4000, republishMs: 60_000, saveMs: 60_000 };

export interface DhtHost {
  node: StyxNode;
  svc(id: string): DhtService;
  /** "127.0.0.1:PORT" of a module's UDP socket. */
  udp(id: string): string;
  ctl(path: string, command: string): Promise<string>;
  /** A plain DhtNode on loopback, destroyed by close(). */
  peer(opts?: DhtNodeOptions): Promise<DhtNode>;
  close(): Promise<void>;
}

export async function startDhtHost(modules: Record<string, Record<string, unknown>>): Promise<DhtHost> {
  const ids = Object.keys(modules);
  const node = await startStyxNode({
    copy: [...new Set(['dht', ...ids.map((id) => id.split('#')[0]!)])], // mainline-dht runs ../dht's files
    role: ids,
    config: Object.fromEntries(ids.map((id) => [id, { ...FAST, ...modules[id] }])),
  });
  const peers: DhtNode[] = [];
  let client: Client | undefined;
  const svc = (id: string) => node.th.host.instances.get(id)!.run!.service as DhtService;
  return {
    node,
    svc,
    udp: (id) => `127.0.0.1:${svc(id).address().port}`,
    async ctl(path, command) {
      client ??= await node.connect('9P2000.u'); // .u carries the error text
      const fid = await client.walkPath(path);
      try {
        await client.open(fid, 'rw');
        await client.write(fid, 0n, Buffer.from(`${command}\n`));
        return Buffer.from(await client.read(fid, 0n, 65536)).toString('utf8');
      } finally {
        await client.clunk(fid).catch(() => undefined);
      }
    },
    async peer(opts = {}) {
      const p = await DhtNode.create({ queryTimeoutMs: 500, opTimeoutMs: 4000, ...opts });
      peers.push(p);
      return p;
    },
    async close() {
      await Promise.allSettled(peers.map((p) => p.destroy()));
      await node.close();
    },
  };
}

/** A fresh ed25519 identity (a key of someone else than the node). */
export const newIdentity = (): Identity => identityFromKey(generateKeyPairSync('ed25519').privateKey);

/** The 9P error text a promise rejects with (fails if it resolves). */
export async function refusal(p: Promise<unknown>, what: string): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { ename?: string }).ename ?? (err as Error).message;
  }
  throw new Error(`${what}: expected a refusal, it succeeded`);
}
