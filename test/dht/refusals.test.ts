// Forged and tampered DHT items are refused by the real modules on real UDP nodes on loopback.
// One Cheshire node runs mainline-dht (trust: the victim's key) and dht (trust: ["*"]); beside it
// an honest DhtNode H and an attacker X, which speaks raw KRPC to the modules and serves whatever
// it likes from its own store:
//   - puts sent to a module: a bad signature, another key's signature, a tampered value or seq are
//     answered 206; a seq not above the stored one 302 (CAS 301); nothing is stored; malformed
//     queries (which used to throw out of bittorrent-dht's socket handler) are answered 203 and
//     the module keeps running, same incarnation;
//   - replies to a module's get: a bad signature, a key that is not the one asked for, an immutable
//     value whose sha1 is not the target are refused and counted; a lower seq never beats a higher;
//   - export descriptions: a tampered one is refused even with trust ["*"]; a stranger's validly
//     signed one is used only with ["*"] (what the wildcard means, docs/dht.md).
import { assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { Identity } from '../../core/identity.ts';
import { DhtNode } from '../../modules/dht/node.ts';
import { bencode } from '../../modules/dht/bencode.ts';
import { mutableTarget, sha1, signedBytes, type MutableItem } from '../../modules/dht/item.ts';
import { waitFor } from '../helpers/project.ts';
import { parseExposition, sampleValue } from '../helpers/prom-text.ts';
import { newIdentity, startDhtHost, type DhtHost } from './dht-host.ts';

const M = 'mainline-dht';
const D = 'dht';
const victim = newIdentity();
const stranger = newIdentity();
let h: DhtHost;
let H: DhtNode; // honest
let X: DhtNode; // attacker

const addr = (id: string) => h.svc(id).address();
const signed = (who: Identity, value: string, seq: number, salt: Buffer, k = who): MutableItem => {
  const v = Buffer.from(value);
  return { k: Buffer.from(k.publicKey, 'hex'), v, seq, salt, sig: who.sign(signedBytes(v, seq, salt)) };
};
/** A raw KRPC query from the attacker; resolves with the reply's r, rejects with "CODE text". */
const krpc = (to: { host: string; port: number }, q: string, a: Record<string, unknown>) => X.query(to, q, a, 1500);
const tokenFrom = async (to: { host: string; port: number }) => (await krpc(to, 'get', { target: randomBytes(20) })).token as Buffer;
const putTo = (to: { host: string; port: number }, token: Buffer, item: MutableItem & { cas?: number }) =>
  krpc(to, 'put', { token, k: item.k, salt: item.salt, seq: item.seq, v: item.v, sig: item.sig, ...(item.cas !== undefined ? { cas: item.cas } : {}) });
const rejected = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
};
const refusedStats = async (id: string) => JSON.parse(await h.node.connect('9P2000.L').then((c) => c.readFile(`/${id}/stats`)).then((b) => b.toString())).refused;

test.before(async () => {
  H = await DhtNode.create({ queryTimeoutMs: 500, opTimeoutMs: 4000 });
  const at = `127.0.0.1:${H.address().port}`;
  X = await DhtNode.create({ queryTimeoutMs: 500, opTimeoutMs: 4000, bootstrap: [at] });
  h = await startDhtHost({ [M]: { bootstrap: [at], trust: [victim.publicKey] }, [D]: { bootstrap: [at], trust: ['*'] } });
  await X.bootstrap();
  await h.svc(M).bootstrap();
  await h.svc(D).bootstrap();
  await X.bootstrap();
  await waitFor('the four nodes to know each other', () => h.svc(M).nodes().length >= 3 && h.svc(D).nodes().length >= 3 && X.nodes().length >= 3, 5000);
});

test.after(async () => {
  await h?.close();
  await Promise.allSettled([X?.destroy(), H?.destroy()]);
});

test('puts with a bad signature, another key\'s signature, a tampered value or seq are refused (206); nothing is stored', async () => {
  const before = (await refusedStats(M)).signature;
  const salt = randomBytes(20);
  const target = mutableTarget(victim.publicKey, salt);
  const token = await tokenFrom(addr(M));
  const genuine = signed(victim, 'original', 5, salt);
  const forged: Array<[string, MutableItem]> = [
    ['a random signature', { ...genuine, v: Buffer.from('forged'), sig: randomBytes(64) }],
    ['signed by another key', { ...signed(stranger, 'forged', 5, salt), k: genuine.k }],
    ['a tampered value', { ...genuine, v: Buffer.from('tampered') }],
    ['a tampered seq', { ...genuine, seq: 6 }],
    ['a signature over another salt', { ...signed(victim, 'original', 5, randomBytes(20)), salt }],
  ];
  for (const [what, item] of forged) assert.match(await rejected(putTo(addr(M), token, item)), /^206 invalid signature$/, what);
  const stored = await krpc(addr(M), 'get', { target });
  assert.is(stored.v, undefined, 'the module stores none of them');
  assert.is((await h.svc(M).get(victim.publicKey, salt)).item, null, 'and finds none on the DHT');
  assert.is((await refusedStats(M)).signature - before, forged.length, 'each refusal counted');
  // the genuine item is taken (the refusals are about the item, not the sender)
  assert.is(await rejected(putTo(addr(M), token, genuine)), 'accepted');
  assert.is((await krpc(addr(M), 'get', { target })).v?.toString(), 'original');
});

test('a put whose seq is not above the stored one is refused (302), a CAS mismatch too (301); a higher seq is taken', async () => {
  const salt = randomBytes(20);
  const target = mutableTarget(victim.publicKey, salt);
  await H.putMutable({ publicKey: victim.publicKey, sign: victim.sign, salt, value: Buffer.from('ten'), seq: 10 });
  assert.is((await krpc(addr(M), 'get', { target })).seq, 10, 'the module holds seq 10');
  const token = await tokenFrom(addr(M));
  assert.match(await rejected(putTo(addr(M), token, signed(victim, 'five', 5, salt))), /^302 sequence number 5 is not above the stored 10$/, 'an older genuine item replayed');
  assert.match(await rejected(putTo(addr(M), token, signed(victim, 'other ten', 10, salt))), /^302 /, 'same seq, other value');
  assert.match(await rejected(putTo(addr(M), token, { ...signed(victim, 'eleven', 11, salt), cas: 9 })), /^301 CAS mismatch/);
  let held = await krpc(addr(M), 'get', { target });
  assert.equal([held.seq, held.v.toString()], [10, 'ten']);
  const got = await h.svc(M).get(victim.publicKey, salt);
  assert.equal([got.item?.seq, got.item?.v.toString()], [10, 'ten']);
  assert.is(await rejected(putTo(addr(M), token, { ...signed(victim, 'eleven', 11, salt), cas: 10 })), 'accepted');
  held = await krpc(addr(M), 'get', { target });
  assert.equal([held.seq, held.v.toString()], [11, 'eleven']);
  assert.ok((await refusedStats(M)).seq >= 3);
});

test('an empty salt is no salt: signed without it (BEP 44) or with "4:salt0:" (bittorrent-dht), the item is taken; forged, refused', async () => {
  const target = mutableTarget(victim.publicKey);
  const token = await tokenFrom(addr(M));
  const without = signed(victim, 'signed without salt', 20, Buffer.alloc(0));
  assert.is(await rejected(putTo(addr(M), token, without)), 'accepted');
  assert.is((await krpc(addr(M), 'get', { target })).v?.toString(), 'signed without salt');
  const v = Buffer.from('signed the library\'s way');
  const libSig = victim.sign(Buffer.concat([Buffer.from('4:salt0:'), signedBytes(v, 21, undefined)]));
  assert.is(await rejected(putTo(addr(M), token, { k: without.k, salt: Buffer.alloc(0), seq: 21, v, sig: libSig })), 'accepted');
  assert.is((await krpc(addr(M), 'get', { target })).seq, 21);
  assert.match(await rejected(putTo(addr(M), token, { ...without, seq: 22, sig: randomBytes(64) })), /^206 /);
});

test('an immutable value cannot be planted under another target: the target is the sha1 of what is sent', async () => {
  const token = await tokenFrom(addr(M));
  const wanted = sha1(bencode(Buffer.from('genuine')));
  assert.is(await rejected(krpc(addr(M), 'put', { token, v: Buffer.from('evil') })), 'accepted');
  assert.is((await krpc(addr(M), 'get', { target: wanted })).v, undefined);
  assert.is((await krpc(addr(M), 'get', { target: sha1(bencode(Buffer.from('evil'))) })).v?.toString(), 'evil', 'stored under its own hash');
  assert.match(await rejected(krpc(addr(M), 'put', { token, v: Buffer.alloc(997) })), /^205 message \(v field\) too big: 1001 bytes bencoded$/);
});

test('malformed queries are answered 203 and counted; the module keeps running, same incarnation', async () => {
  const inst = h.node.th.host.instances.get(M)!;
  const run = inst.run;
  const restarts = inst.restarts;
  const before = (await refusedStats(M)).malformed;
  const token = await tokenFrom(addr(M));
  const k = randomBytes(32);
  const bad: Array<[string, Record<string, unknown>]> = [
    ['put', { token, v: Buffer.from('x'), sig: randomBytes(64) }], // a signature, no key
    ['put', { token, v: Buffer.from('x'), k: 5, sig: randomBytes(64) }],
    ['put', { token, v: Buffer.from('x'), k, salt: 7, sig: randomBytes(64), seq: 1 }],
    ['put', { token, v: Buffer.from('x'), k, sig: randomBytes(64), seq: -1 }],
    ['put', { token: Buffer.from('not the token'), v: Buffer.from('x') }],
    ['get', { target: 5 }],
    ['get', { target: [1] }],
    ['get', { target: Buffer.from('short') }],
    ['get_peers', { info_hash: 5 }],
    ['announce_peer', { info_hash: 5, port: 1, token }],
    ['announce_peer', { info_hash: randomBytes(20), port: 70000, token }],
    ['find_node', { target: { a: 1 } }],
  ];
  for (const [q, a] of bad) assert.match(await rejected(krpc(addr(M), q, a)), /^203 /, `${q} ${JSON.stringify(a)}`);
  // not even KRPC: undecodable datagrams and a query without arguments
  const raw = createSocket('udp4');
  try {
    for (const d of ['not bencode at all', 'd1:q4:ping1:t2:aa1:y1:qe', 'd1:ai5e1:q3:get1:t2:ab1:y1:qe', 'li1ee']) {
      await new Promise<void>((resolve, reject) => raw.send(Buffer.from(d), addr(M).port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    }
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    raw.close();
  }
  assert.is((await krpc(addr(M), 'ping', {})).id?.length, 20, 'still answering');
  assert.is(inst.state, 'active');
  assert.ok(inst.run === run, 'the same incarnation: no crash, no restart');
  assert.is(inst.restarts, restarts);
  assert.ok((await refusedStats(M)).malformed - before >= bad.length);
});

test('replies to a get that hold a forged item are refused and counted; the ctl says so', async () => {
  const before = await refusedStats(M);
  const askedBefore = X.statsSnapshot().queriesReceived.get ?? 0;
  const cases: Array<[string, (salt: Buffer) => MutableItem, RegExp]> = [
    ['a bad signature', (salt) => ({ ...signed(victim, 'forged', 3, salt), v: Buffer.from('tampered') }), /signature/],
    ['another key than the one asked for', (salt) => signed(stranger, 'a stranger speaking', 3, salt), /key/],
    ['the key asked for, signed by another', (salt) => signed(stranger, 'forged', 3, salt, victim), /signature/],
  ];
  for (const [what, make] of cases) {
    const salt = randomBytes(20);
    X.serveOwn(mutableTarget(victim.publicKey, salt), make(salt));
    const text = await h.ctl(`/${M}/ctl`, `get ${victim.publicKey} hex:${salt.toString('hex')}`);
    assert.match(text, /^get target [0-9a-f]{40}: not found \(\d+ queries, \d+ ms; refused 1 forged or malformed reply\)\n$/, what);
  }
  assert.ok((X.statsSnapshot().queriesReceived.get ?? 0) - askedBefore >= cases.length, 'the attacker was asked each time');
  const after = await refusedStats(M);
  assert.is(after.signature - before.signature, 2);
  assert.is(after.key - before.key, 1);
});

test('a lower seq never beats a higher one, whoever answers first', async () => {
  const salt = randomBytes(20);
  const target = mutableTarget(victim.publicKey, salt);
  H.serveOwn(target, signed(victim, 'current', 10, salt));
  X.serveOwn(target, signed(victim, 'replayed', 5, salt)); // genuine, but old
  for (let i = 0; i < 3; i++) {
    const got = await h.svc(M).get(victim.publicKey, salt);
    assert.equal([got.item?.seq, got.item?.v.toString(), got.refused], [10, 'current', 0]);
  }
});

test('an immutable value that does not hash to the target is refused; the genuine one is found', async () => {
  const genuine = Buffer.from('genuine immutable value');
  const target = sha1(bencode(genuine));
  X.raw._values.set(target.toString('hex'), { v: Buffer.from('forged immutable value'), id: X.raw.nodeId });
  const text = await h.ctl(`/${M}/ctl`, `get-immutable ${target.toString('hex')}`);
  assert.match(text, /^get-immutable target [0-9a-f]{40}: not found \(\d+ queries, \d+ ms; refused 1 forged or malformed reply\)\n$/);
  H.raw._values.set(target.toString('hex'), { v: genuine, id: H.raw.nodeId });
  const got = await h.svc(M).getImmutable(target.toString('hex'));
  assert.is(got.item?.v.toString(), genuine.toString());
  assert.ok((await refusedStats(M)).hash >= 1);
});

test('export descriptions: a tampered one is refused even with trust ["*"]; a stranger\'s valid one only with ["*"]', async () => {
  const path = '/export/contested';
  const ih = Buffer.from(h.svc(M).infohash(path), 'hex');
  assert.is(h.svc(D).infohash(path), ih.toString('hex'), 'both modules use the same salt');
  await X.announce(ih); // X is now a peer of the path: the finders ask it directly
  const describe = (who: Identity, address: string, seq: number) =>
    signed(who, JSON.stringify({ v: 1, path, address, node: 'x' }), seq, ih);
  const serve = (item: MutableItem) => X.serveOwn(mutableTarget(item.k, ih), item, ih);
  const found = async (id: string) => (await h.svc(id).findExports(path, { timeoutMs: 3000 })).map((f) => `${f.publicKey === victim.publicKey ? 'victim' : 'stranger'} ${f.address}`);

  // the victim's description with the address changed after signing
  const genuine = describe(victim, '127.0.0.1:5640', Date.now());
  serve({ ...genuine, v: Buffer.from(genuine.v.toString().replace('5640', '6666')) });
  assert.equal(await found(M), [], 'tampered: refused by the node that trusts the victim');
  assert.equal(await found(D), [], 'tampered: refused with trust ["*"] too');

  // a stranger's own, validly signed description
  serve(describe(stranger, '127.0.0.1:6666', Date.now()));
  assert.equal(await found(M), [], 'not a trusted key');
  assert.equal(await found(D), ['stranger 127.0.0.1:6666'], 'trust ["*"]: any valid signature is used');

  // the genuine description (control)
  X.dropOwn(mutableTarget(stranger.publicKey, ih), ih);
  serve(genuine);
  assert.equal(await found(M), ['victim 127.0.0.1:5640']);
  assert.equal(await found(D), ['victim 127.0.0.1:5640']);
});

test('the refusals are in the node\'s metrics, by reason', async () => {
  const f = parseExposition((await h.node.th.host.control.metrics()).text);
  for (const reason of ['signature', 'key', 'hash', 'seq', 'size', 'malformed']) {
    assert.ok((sampleValue(f, 'cheshire_dht_refused_total', { module: M, reason }) ?? 0) >= 1, reason);
  }
});

test('no datagram left loopback', () => {
  assertLoopbackOnly();
});

test.run();
