// DHT benchmark on loopback: N nodes (default 50 and 200) join through one seed; then, one
// operation at a time (so the query counts are per operation), mutable salted puts by one node
// read back by another, announces, and lookups of announced infohashes from other nodes.
// Prints join time, put/get/announce/lookup latency (median, p90), queries per operation and the
// put/get success rate. Bounded: every operation has a deadline, and the whole run a budget.
//   npx tsx bench/dht.ts            # 50 and 200 nodes
//   npx tsx bench/dht.ts 500 100    # node counts, then items per size (default 100)
import { generateKeyPairSync } from 'node:crypto';
import { DhtNode } from '../modules/dht/node.ts';
import { mutableTarget, sha1 } from '../modules/dht/item.ts';
import { identityFromKey } from '../core/identity.ts';

const args = process.argv.slice(2).map(Number).filter((n) => n > 0);
const SIZES = args.length ? [args[0]!] : [50, 200];
const ITEMS = args[1] ?? 100;
const BUDGET_MS = 240_000;
const started = Date.now();

const pct = (xs: number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const fmt = (xs: number[]) => `median ${pct(xs, 50).toFixed(1)}  p90 ${pct(xs, 90).toFixed(1)}`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function run(n: number): Promise<boolean> {
  const nodes: DhtNode[] = [];
  try {
    const t0 = performance.now();
    const seed = await DhtNode.create({ queryTimeoutMs: 1000, opTimeoutMs: 15_000 });
    nodes.push(seed);
    const at = `127.0.0.1:${seed.address().port}`;
    for (let i = 1; i < n; i++) nodes.push(await DhtNode.create({ bootstrap: [at], queryTimeoutMs: 1000, opTimeoutMs: 15_000 }));
    const joins: number[] = [];
    const joinQueries: number[] = [];
    await pool(nodes.slice(1), 16, async (node) => {
      const r = await node.bootstrap();
      joins.push(r.ms);
      joinQueries.push(r.queries);
    });
    // one refresh round, as a running node's periodic bucket refresh would do
    await pool(nodes.slice(1), 16, async (node) => { await node.bootstrap(); });
    const joinAll = performance.now() - t0;
    const tables = nodes.map((x) => x.nodes().length);

    const ids = Array.from({ length: Math.min(n, ITEMS) }, () => identityFromKey(generateKeyPairSync('ed25519').privateKey));
    const put: number[] = []; const putQ: number[] = []; const get: number[] = []; const getQ: number[] = [];
    let ok = 0;
    for (let i = 0; i < ITEMS; i++) {
      if (Date.now() - started > BUDGET_MS) break;
      const w = (i * 13) % n;
      let r = (i * 31 + 7) % n;
      if (r === w) r = (r + 1) % n;
      const id = ids[i % ids.length]!;
      const salt = Buffer.from(`bench-${i}`);
      const value = Buffer.from(`value ${i}`);
      try {
        const p = await nodes[w]!.putMutable({ publicKey: id.publicKey, sign: id.sign, value, salt, seq: i + 1 });
        put.push(p.ms); putQ.push(p.queries);
        const g = await nodes[r]!.getMutable(mutableTarget(id.publicKey, salt), { salt });
        get.push(g.ms); getQ.push(g.queries);
        if (g.item?.v.equals(value) && g.item.from === 'network') ok++;
      } catch { /* counted as a failure */ }
    }
    const ann: number[] = []; const annQ: number[] = []; const look: number[] = []; const lookQ: number[] = [];
    let found = 0;
    const LOOKUPS = Math.min(ITEMS, 50);
    for (let i = 0; i < LOOKUPS; i++) {
      if (Date.now() - started > BUDGET_MS) break;
      const ih = sha1(`bench infohash ${i}`);
      const a = nodes[(i * 17) % n]!;
      const b = nodes[(i * 23 + 5) % n === (i * 17) % n ? ((i * 23 + 6) % n) : (i * 23 + 5) % n]!;
      try {
        const x = await a.announce(ih);
        ann.push(x.ms); annQ.push(x.queries);
        const y = await b.lookup(ih);
        look.push(y.ms); lookQ.push(y.queries);
        if (y.peers.some((p) => p.port === a.address().port)) found++;
      } catch { /* failure */ }
    }
    const dropped = nodes.reduce((s, x) => s + x.guard.dropped, 0);
    console.log(`\n== ${n} nodes on 127.0.0.1 ==`);
    console.log(`join (bootstrap per node, 16 at a time)  ms: ${fmt(joins)}   queries: mean ${mean(joinQueries).toFixed(0)}`);
    console.log(`all joined + one refresh round: ${(joinAll / 1000).toFixed(1)} s; routing table size min ${Math.min(...tables)} median ${pct(tables, 50)}`);
    console.log(`put (BEP 44 mutable, salted)  ms: ${fmt(put)}   queries/op: median ${pct(putQ, 50)} p90 ${pct(putQ, 90)}`);
    console.log(`get (other node, network)     ms: ${fmt(get)}   queries/op: median ${pct(getQ, 50)} p90 ${pct(getQ, 90)}`);
    console.log(`announce (BEP 5)              ms: ${fmt(ann)}   queries/op: median ${pct(annQ, 50)} p90 ${pct(annQ, 90)}`);
    console.log(`lookup (get_peers, other node) ms: ${fmt(look)}   queries/op: median ${pct(lookQ, 50)} p90 ${pct(lookQ, 90)}`);
    console.log(`put/get success: ${ok}/${ITEMS} (${((100 * ok) / ITEMS).toFixed(1)}%)   announce/lookup found: ${found}/${LOOKUPS}   datagrams dropped by the guard: ${dropped}`);
    return ok === ITEMS && found === LOOKUPS;
  } finally {
    await Promise.all(nodes.map((x) => x.destroy()));
  }
}

let allOk = true;
for (const n of SIZES) allOk = (await run(n)) && allOk;
console.log(`\n${allOk ? 'OK: 100% put/get and lookup success at every size' : 'FAIL: success below 100%'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
process.exit(allOk ? 0 : 1);
