// Any BEP 44 item written and read through /mainline-dht/ctl (9P and the cheshire CLI): salts and
// values as hex:, text: or bare text, binary ones read back as hex:, items without salt, immutable
// items (target = sha1 of the bencoded value), values that are not byte strings (bencoded:), and
// items published by another node read back. Targets are computed here independently. A peer
// DhtNode on loopback reads what the ctl wrote and writes what the ctl reads. Bad arguments are
// refused with the CHS_ERR_* code naming what was wrong.
import { assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import type { DhtNode } from '../../modules/dht/node.ts';
import { verifyItem } from '../../modules/dht/item.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { waitFor } from '../helpers/project.ts';
import { newIdentity, refusal, startDhtHost, type DhtHost } from './dht-host.ts';

const M = 'mainline-dht';
const CTL = '/mainline-dht/ctl';
let h: DhtHost;
let P: DhtNode;
let key: string;

const sha1 = (...parts: Array<Buffer | string>) => createHash('sha1').update(Buffer.concat(parts.map((p) => Buffer.from(p)))).digest();
const hexOf = (b: Buffer) => b.toString('hex');
/** The first line's target and the value line of a get answer. */
const answer = (text: string) => ({ target: /target ([0-9a-f]{40})/.exec(text)?.[1], value: text.split('\n')[1] });

test.before(async () => {
  h = await startDhtHost({ [M]: {} });
  key = h.node.th.host.identity!.publicKey;
  P = await h.peer({ bootstrap: [h.udp(M)] });
  await P.bootstrap();
  await waitFor('the module to know the peer', () => h.svc(M).nodes().length >= 1, 5000);
});

test.after(async () => {
  await h?.close();
});

test('the ctl lists the item commands and the byte syntax', async () => {
  const usage = await h.node.connect('9P2000.L').then((c) => c.readFile(CTL)).then((b) => b.toString());
  for (const c of ['put SALT VALUE', 'get PUBKEY|self [SALT]', 'put-immutable VALUE', 'get-immutable TARGET', 'hex:', 'text:', 'bencoded:']) assert.ok(usage.includes(c), `${c} in ${usage}`);
});

test('a binary salt and value written hex: are bytes on the DHT (read by a peer) and read back as hex:', async () => {
  const salt = randomBytes(20); // an infohash, as our exports use
  const value = Buffer.from([0, 1, 2, 0xff, 0x0a, 0x41]);
  const put = await h.ctl(CTL, `put hex:${hexOf(salt)} hex:${hexOf(value)}`);
  assert.match(put, /^put target [0-9a-f]{40} seq \d+: stored on 1 nodes/);
  const target = sha1(Buffer.from(key, 'hex'), salt);
  assert.is(answer(put).target, hexOf(target), 'target = sha1(public key + salt bytes)');
  const got = await P.getMutable(target, { salt });
  assert.ok(got.item, 'the peer finds it');
  assert.equal(got.item!.v, value, 'the value is the bytes, not their spelling');
  const back = await h.ctl(CTL, `get ${key} hex:${hexOf(salt).toUpperCase()}`);
  assert.match(back, /^get target [0-9a-f]{40}: seq \d+ from (network|local) \(\d+ queries, \d+ ms\)\n/);
  assert.is(answer(back).value, `hex:${hexOf(value)}`);
  assert.is(back.split('\n').length, 3, 'header, value, end');
});

test('items another node published, under binary salts, read back: our own export description, a peer\'s item', async () => {
  const ann = await h.svc(M).announceExport('/export/docs', { address: '127.0.0.1:5640', aname: 'docs' });
  const own = await h.ctl(CTL, `get self hex:${ann.infohash}`);
  assert.is(answer(own).target, ann.target);
  const desc = JSON.parse(answer(own).value!);
  assert.equal([desc.path, desc.address, desc.aname], ['/export/docs', '127.0.0.1:5640', 'docs']);

  const other = newIdentity();
  const salt = randomBytes(32);
  await P.putMutable({ publicKey: other.publicKey, sign: other.sign, salt, value: Buffer.from('written by the peer'), seq: 42 });
  const got = await h.ctl(CTL, `get ${other.publicKey} hex:${hexOf(salt)}`);
  assert.match(got, /: seq 42 from /);
  assert.is(answer(got).value, 'written by the peer');
  assert.match(await h.ctl(CTL, `get ${other.publicKey} text:${hexOf(salt)}`), /: not found \(/, 'the same digits as text are another salt');
});

test('text: bare text as before, text: prefixes, ambiguous values read back with text:, an item without salt', async () => {
  await h.ctl(CTL, 'put greeting hello  there, world');
  assert.is(answer(await h.ctl(CTL, 'get self greeting')).value, 'hello  there, world');
  assert.is(answer(await h.ctl(CTL, 'get self text:greeting')).value, 'hello  there, world', 'text:greeting is the salt "greeting"');

  const put = await h.ctl(CTL, 'put text:hex:1 text:hex:00');
  assert.is(answer(put).target, hexOf(sha1(Buffer.from(key, 'hex'), 'hex:1')), 'the salt is the text "hex:1"');
  assert.is(answer(await h.ctl(CTL, 'get self text:hex:1')).value, 'text:hex:00', 'shown so that it reads back as text');

  const bare = await h.ctl(CTL, 'put text: no salt at all');
  assert.is(answer(bare).target, hexOf(sha1(Buffer.from(key, 'hex'))), 'no salt: target = sha1(public key)');
  assert.is(answer(await h.ctl(CTL, 'get self')).value, 'no salt at all');
  assert.is(answer(await h.ctl(CTL, 'get self hex:')).value, 'no salt at all', 'an empty salt is no salt');
  const peer = await P.getMutable(sha1(Buffer.from(key, 'hex')));
  assert.is(peer.item?.v.toString(), 'no salt at all');
  assert.is(answer(await h.ctl(CTL, 'put multiline hex:6c696e65310a6c696e6532')).target?.length, 40);
  assert.is(answer(await h.ctl(CTL, 'get self multiline')).value, 'hex:6c696e65310a6c696e6532', 'a newline is not shown raw');
});

test('immutable items: put and get through the ctl, target = sha1(bencoded value), read by and from a peer', async () => {
  const put = await h.ctl(CTL, 'put-immutable hello world');
  assert.match(put, /^put-immutable target [0-9a-f]{40}: stored on 1 nodes \(\d+ queries, \d+ ms\)\n$/);
  const target = sha1('11:hello world');
  assert.is(answer(put).target, hexOf(target));
  const peer = await P.getImmutable(target);
  assert.is(peer.item?.v.toString(), 'hello world');
  const got = await h.ctl(CTL, `get-immutable ${hexOf(target)}`);
  assert.match(got, /^get-immutable target [0-9a-f]{40}: from (network|local) \(\d+ queries, \d+ ms\)\n/);
  assert.is(answer(got).value, 'hello world');

  const bin = await h.ctl(CTL, 'put-immutable hex:00ff');
  assert.is(answer(bin).target, hexOf(sha1(Buffer.concat([Buffer.from('2:'), Buffer.from([0, 0xff])]))));
  assert.is(answer(await h.ctl(CTL, `get-immutable ${answer(bin).target}`)).value, 'hex:00ff');

  const fromPeer = await P.putImmutable({ v: Buffer.from('put by the peer') });
  assert.is(answer(await h.ctl(CTL, `get-immutable ${fromPeer.target}`)).value, 'put by the peer');
  assert.match(await h.ctl(CTL, `get-immutable ${'00'.repeat(20)}`), /^get-immutable target 0{40}: not found \(/);
});

test('values that are not byte strings: the library\'s dict read back as bencoded:, bencoded: values written', async () => {
  // bittorrent-dht itself puts a dict (as another client may), not through our facade
  const key1 = await new Promise<Buffer>((resolve, reject) => {
    P.raw.put({ v: { name: Buffer.from('cheshire'), seq: 7 } }, (err, k) => (err ? reject(err) : resolve(k)));
  });
  const encoded = Buffer.from('d4:name8:cheshire3:seqi7ee');
  assert.equal(key1, sha1(encoded));
  assert.is(answer(await h.ctl(CTL, `get-immutable ${hexOf(key1)}`)).value, `bencoded:${hexOf(encoded)}`);

  const list = Buffer.from('li1ei2e3:abce');
  const imm = await h.ctl(CTL, `put-immutable bencoded:${hexOf(list)}`);
  assert.is(answer(imm).target, hexOf(sha1(list)));
  const raw = await new Promise<unknown>((resolve) => P.raw.get(sha1(list), { cache: false }, (_e, r) => resolve(r?.v)));
  assert.equal(raw, [1, 2, Buffer.from('abc')], 'the library reads the list');

  // mutable: the signature covers the bencoded list; the library's own check accepts it
  const salt = 'a-list'; // a salt is one word (one with spaces is written hex:)
  const mput = await h.ctl(CTL, `put text:${salt} bencoded:${hexOf(list)}`);
  const target = Buffer.from(answer(mput).target!, 'hex');
  const lib = await new Promise<{ v?: unknown; seq?: number } | null>((resolve) => P.raw.get(target, { cache: false, salt: Buffer.from(salt), verify: verifyItem }, (_e, r) => resolve(r)));
  assert.equal(lib?.v, [1, 2, Buffer.from('abc')]);
  const ours = await P.getMutable(target, { salt: Buffer.from(salt) });
  assert.ok(ours.item?.encoded);
  assert.equal(ours.item?.v, list);
  assert.is(answer(await h.ctl(CTL, `get self text:${salt}`)).value, `bencoded:${hexOf(list)}`);
  // a bencoded byte string is just that byte string
  await h.ctl(CTL, `put plain bencoded:${hexOf(Buffer.from('3:abc'))}`);
  assert.is(answer(await h.ctl(CTL, 'get self plain')).value, 'abc');
});

test('size limits at the boundary: a 64-byte salt and a 1000-byte bencoded value pass, one more byte is refused', async () => {
  assert.match(await h.ctl(CTL, `put hex:${'ab'.repeat(64)} x`), /^put target/);
  assert.match(await h.ctl(CTL, `put big hex:${'ab'.repeat(996)}`), /^put target/, '996 bytes = 1000 bencoded');
  assert.match(await h.ctl(CTL, `put-immutable hex:${'cd'.repeat(996)}`), /^put-immutable target/);
  assert.match(await refusal(h.ctl(CTL, `put hex:${'ab'.repeat(65)} x`), 'salt of 65 bytes'),
    /CHS_ERR_DHT_SALT_TOO_LONG: the salt is 65 bytes; BEP 44 allows at most 64/);
  assert.match(await refusal(h.ctl(CTL, `get self hex:${'ab'.repeat(65)}`), 'get with a salt of 65 bytes'), /CHS_ERR_DHT_SALT_TOO_LONG/);
  assert.match(await refusal(h.ctl(CTL, `put big hex:${'ab'.repeat(997)}`), 'value of 997 bytes'),
    /CHS_ERR_DHT_VALUE_TOO_LARGE: the value is 1001 bytes bencoded \(997 bytes of data\); BEP 44 allows at most 1000/);
  assert.match(await refusal(h.ctl(CTL, `put-immutable ${'x'.repeat(997)}`), 'immutable value of 997 bytes'), /CHS_ERR_DHT_VALUE_TOO_LARGE: the value is 1001 bytes/);
});

test('malformed arguments are refused with the code and what was wrong', async () => {
  const cases: Array<[string, RegExp]> = [
    ['put hex:0a1 x', /CHS_ERR_DHT_HEX: salt "hex:0a1": 3 hex digits, not an even number/],
    ['put s hex:zz', /CHS_ERR_DHT_HEX: value "hex:zz": "z" at offset 0 is not a hex digit/],
    ['put s hex:00 11', /CHS_ERR_DHT_HEX: value "hex:00 11": " " at offset 2 is not a hex digit/],
    ['put-immutable hex:abc', /CHS_ERR_DHT_HEX: value "hex:abc"/],
    ['get self hex:g0', /CHS_ERR_DHT_HEX: salt "hex:g0"/],
    ['put bencoded:6869 x', /CHS_ERR_DHT_ARGUMENT: salt "bencoded:6869": a salt is a byte string/],
    ['put-immutable bencoded:64313a61', /CHS_ERR_DHT_BENCODE: value "bencoded:64313a61" is not one canonical bencoded value: unexpected end at offset 4/],
    [`put-immutable bencoded:${hexOf(Buffer.from('d1:bi1e1:ai2ee'))}`, /CHS_ERR_DHT_BENCODE: .*keys not sorted/],
    [`put-immutable bencoded:${hexOf(Buffer.from('i03e'))}`, /CHS_ERR_DHT_BENCODE: .*bad integer "03"/],
    [`put-immutable bencoded:${hexOf(Buffer.from('i1ei2e'))}`, /CHS_ERR_DHT_BENCODE: .*trailing bytes/],
    ['get-immutable xyz', /CHS_ERR_DHT_ARGUMENT: "xyz" is not a 40-hex-digit target/],
    ['get nothex salt', /CHS_ERR_DHT_ARGUMENT: "nothex" is not a 64-hex-digit public key/],
    ['get self a b', /CHS_ERR_DHT_ARGUMENT: usage: get PUBKEY\|self \[SALT\]/],
    ['put onlysalt', /CHS_ERR_DHT_ARGUMENT: usage: put SALT VALUE/],
    ['put-immutable', /CHS_ERR_DHT_ARGUMENT: usage: put-immutable VALUE/],
  ];
  for (const [command, expected] of cases) assert.match(await refusal(h.ctl(CTL, command), command), expected, command);
});

test('the cheshire CLI writes and reads binary items through `cheshire ctl /mainline-dht/ctl`', async () => {
  const node = `127.0.0.1:${h.node.port}`;
  const salt = randomBytes(20).toString('hex');
  const put = await cheshire(['ctl', CTL, 'put', `hex:${salt}`, 'hex:00c0ffee', '--node', node]);
  assert.is(put.code, 0, show(put));
  assert.match(put.stdout, /^put target [0-9a-f]{40} seq \d+: stored on 1 nodes/);
  const get = await cheshire(['ctl', CTL, 'get', 'self', `hex:${salt}`, '--node', node]);
  assert.is(get.code, 0, show(get));
  assert.is(answer(get.stdout).value, 'hex:00c0ffee');
  const bad = await cheshire(['ctl', CTL, 'put', 'hex:xyz', 'v', '--node', node]);
  assert.is(bad.code, 1, show(bad));
  assert.match(bad.stderr, /CHS_ERR_DHT_HEX: salt "hex:xyz"/);
});

test('no datagram left loopback', () => {
  assertLoopbackOnly();
});

test.run();
