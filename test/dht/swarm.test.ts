// A 50-node DHT on loopback: every node joins through one seed; 100 mutable salted items, each
// put by one node and read back by another, must all come back (100/100) with the right value;
// paths announced by three nodes each are found by a fourth; nothing leaves loopback.
import { assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { DhtNode } from '../../modules/dht/node.ts';
import { mutableTarget, sha1 } from '../../modules/dht/item.ts';
import { identityFromKey, type Identity } from '../../core/identity.ts';

const N = 50;
const nodes: DhtNode[] = [];
const ids: Identity[] = [];

async function pool<T>(items: T[], width: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

test.before(async () => {
  const seed = await DhtNode.create({ queryTimeoutMs: 500, opTimeoutMs: 10_000 });
  nodes.push(seed);
  const at = `127.0.0.1:${seed.address().port}`;
  for (let i = 1; i < N; i++) nodes.push(await DhtNode.create({ bootstrap: [at], queryTimeoutMs: 500, opTimeoutMs: 10_000 }));
  await pool(nodes.slice(1), 10, async (n) => { await n.bootstrap(); });
  await pool(nodes.slice(1), 10, async (n) => { await n.bootstrap(); }); // a second round: everyone knows more than the early joiners
  for (let i = 0; i < N; i++) ids.push(identityFromKey(generateKeyPairSync('ed25519').privateKey));
});

test.after(async () => {
  await Promise.all(nodes.map((n) => n.destroy()));
});

test('every node has a populated routing table', () => {
  const sizes = nodes.map((n) => n.nodes().length);
  assert.ok(Math.min(...sizes) >= 10, `table sizes ${sizes.join(',')}`);
});

test('100/100 mutable salted items put by one node are read by another', async () => {
  const items = Array.from({ length: 100 }, (_, i) => i);
  let ok = 0;
  const failures: string[] = [];
  await pool(items, 10, async (i) => {
    const w = i % N;
    const r = (i * 7 + 13) % N === w ? (w + 1) % N : (i * 7 + 13) % N;
    const id = ids[w]!;
    const salt = Buffer.from(`item-${i}`);
    const value = Buffer.from(`value ${i} by node ${w}`);
    await nodes[w]!.putMutable({ publicKey: id.publicKey, sign: id.sign, value, salt, seq: i + 1 });
    const got = await nodes[r]!.getMutable(mutableTarget(id.publicKey, salt), { salt });
    if (got.item && got.item.v.equals(value) && got.item.seq === i + 1 && got.item.from === 'network') ok++;
    else failures.push(`item ${i} (writer ${w}, reader ${r}): ${got.item ? `seq ${got.item.seq} from ${got.item.from}` : 'not found'}`);
  });
  assert.is(ok, 100, failures.join('\n'));
});

test('a path announced by three nodes is found (all three) by a fourth', async () => {
  for (let p = 0; p < 5; p++) {
    const infohash = sha1(`/export/${p}` + 'salt');
    const announcers = [p, p + 10, p + 20].map((i) => nodes[i]!);
    for (const a of announcers) {
      const r = await a.announce(infohash);
      assert.ok(r.stored > 0, `announce by ${a.address().port} reached nobody`);
    }
    const found = await nodes[p + 30]!.lookup(infohash);
    const ports = new Set(found.peers.map((x) => x.port));
    for (const a of announcers) assert.ok(ports.has(a.address().port), `lookup ${p} misses ${a.address().port}: ${[...ports].join(',')}`);
    assert.ok(found.queries > 0);
  }
});

test('no datagram left loopback; the guards dropped nothing', () => {
  assertLoopbackOnly();
  assert.is(nodes.reduce((s, n) => s + n.guard.dropped, 0), 0);
});

test.run();
