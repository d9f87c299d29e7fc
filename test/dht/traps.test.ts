// The known traps of bittorrent-dht, each pinned down: it bootstraps from the public routers
// unless told otherwise (and again when its table empties), it does not keep the mutable items
// it puts, and its get() answers from a local cache. The facade (core/dht/node.ts) and its socket
// guard (core/dht/guard.ts) must defuse each; no datagram may leave loopback.
import { destinations, nonLoopback, assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import dns from 'node:dns';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import { generateKeyPairSync } from 'node:crypto';
import DHT from 'bittorrent-dht';
import { DhtNode } from '../../modules/dht/node.ts';
import { guardSocket } from '../../modules/dht/guard.ts';
import { mutableTarget, verifyItem } from '../../modules/dht/item.ts';
import { identityFromKey } from '../../core/identity.ts';
import { waitFor } from '../helpers/project.ts';

// Name resolution is faked: the library's public routers resolve to a public address at once,
// so no DNS query leaves the machine either, and we see which names it asked for.
const asked: string[] = [];
const realLookup = dns.lookup;
(dns as { lookup: unknown }).lookup = (host: string, ...rest: unknown[]) => {
  if (isIP(host)) return (realLookup as (...a: unknown[]) => void)(host, ...rest); // dgram's bind/send of IP literals
  asked.push(host);
  const cb = rest.findLast((a) => typeof a === 'function') as (err: null, addr: string, family: number) => void;
  process.nextTick(cb, null, '67.215.246.10', 4);
};

const nodes: DhtNode[] = [];
const raws: DHT[] = [];
const make = async (opts: Parameters<typeof DhtNode.create>[0] = {}) => {
  const n = await DhtNode.create({ queryTimeoutMs: 400, opTimeoutMs: 5000, ...opts });
  nodes.push(n);
  return n;
};
const at = (n: DhtNode) => `127.0.0.1:${n.address().port}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.after(async () => {
  await Promise.all(nodes.map((n) => n.destroy()));
  for (const r of raws) r.destroy();
  (dns as { lookup: unknown }).lookup = realLookup;
});

test('left to its defaults, the library asks the public routers; the socket guard drops every datagram', async () => {
  const socket = createSocket('udp4');
  const guard = guardSocket(socket, {});
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const before = nonLoopback.length;
  const raw = new DHT({ socket, timeout: 300 }); // no bootstrap option: the library's public default
  raws.push(raw);
  await waitFor('the library to try the public routers', () => guard.dropped >= 3, 3000);
  assert.ok(asked.includes('router.bittorrent.com'), `the library resolved ${asked.join(', ')}`);
  assert.ok(guard.droppedTo.every((d) => d === '67.215.246.10:6881'), guard.droppedTo.join(', '));
  assert.is(nonLoopback.length, before, 'nothing reached the network');
  assert.is(guard.sent, 0);
});

test('a DhtNode with default options has an empty bootstrap list and contacts no one, even re-bootstrapping an empty table', async () => {
  const askedBefore = asked.length;
  const sentBefore = destinations.length;
  const n = await make();
  assert.equal(n.raw._rpc.bootstrap, [], 'explicit empty list, never the library default');
  await sleep(50);
  // What the library's bucket check does when the table is empty:
  n.raw._bootstrap(true);
  n.raw._pingAll(() => undefined);
  const r = await n.bootstrap();
  await sleep(200);
  assert.is(r.responded, 0);
  assert.is(n.guard.dropped, 0);
  assert.is(n.guard.sent, 0, 'not one datagram');
  assert.is(destinations.length, sentBefore);
  assert.is(asked.length, askedBefore, 'no name was resolved');
});

test('when its table empties, a node re-bootstraps from its configured nodes only', async () => {
  const seed = await make();
  const other = await make({ bootstrap: [at(seed)] });
  const n = await make({ bootstrap: [at(seed)] });
  await n.bootstrap();
  await other.bootstrap();
  await n.bootstrap();
  assert.ok(n.nodes().length >= 2, `table: ${n.nodes().length}`);
  for (const c of n.nodes()) n.raw.removeNode(c.id);
  assert.is(n.nodes().length, 0);
  const from = destinations.length;
  const sentBefore = n.guard.sent;
  n.raw._bootstrap(true);
  await waitFor('the table to refill from the seed', () => n.nodes().length >= 2, 3000);
  assert.ok(n.guard.sent > sentBefore);
  const ports = new Set(destinations.slice(from).map((d) => d.split(':')[1]));
  assert.ok(ports.has(String(seed.address().port)), 'the configured seed was asked');
  assert.is(n.guard.dropped, 0);
  assertLoopbackOnly();
});

const key = () => identityFromKey(generateKeyPairSync('ed25519').privateKey);

test('the putting node keeps and serves its own mutable item (the library does not)', async () => {
  const a = await make();
  const b = await make({ bootstrap: [at(a)] });
  await b.bootstrap();
  const id = key();
  const salt = Buffer.from('own-item');
  const put = await a.putMutable({ publicKey: id.publicKey, sign: id.sign, value: Buffer.from('kept by the writer'), salt, seq: 7 });
  assert.is(put.stored, 1, 'stored on b');
  assert.not.ok(Object.keys(a.raw._values.cache).includes(put.target), 'the library itself did not keep it');
  await b.destroy(); // the only other holder is gone
  const c = await make({ bootstrap: [at(a)] });
  await c.bootstrap();
  const got = await c.getMutable(mutableTarget(id.publicKey, salt), { salt });
  assert.ok(got.item, 'found on the writer');
  assert.is(got.item!.v.toString(), 'kept by the writer');
  assert.is(got.item!.seq, 7);
});

test('get() asks the network: a stale cached copy does not hide a newer item', async () => {
  const a = await make();
  const b = await make({ bootstrap: [at(a)] });
  const c = await make({ bootstrap: [at(a)] });
  await b.bootstrap();
  await c.bootstrap();
  await b.bootstrap();
  const id = key();
  const salt = Buffer.from('fresh');
  const target = mutableTarget(id.publicKey, salt);
  await a.putMutable({ publicKey: id.publicKey, sign: id.sign, value: Buffer.from('one'), salt, seq: 1 });
  const stale = { ...b.raw._values.get(target.toString('hex'))! };
  assert.is(stale.seq, 1, 'b holds seq 1');
  await a.putMutable({ publicKey: id.publicKey, sign: id.sign, value: Buffer.from('two'), salt, seq: 2 });
  b.raw._values.set(target.toString('hex'), stale); // b missed the update
  const cached = await new Promise<number | undefined>((resolve) => b.raw.get(target, { salt, verify: verifyItem }, (_e, r) => resolve(r?.seq)));
  assert.is(cached, 1, 'the library\'s default get answers from its cache (the trap)');
  const got = await b.getMutable(target, { salt });
  assert.is(got.item?.seq, 2);
  assert.is(got.item?.v.toString(), 'two');
  assert.is(got.item?.from, 'network');
  assert.ok(got.queries > 0);
});

test('no datagram of this file left loopback', () => {
  assertLoopbackOnly();
});

test.run();
