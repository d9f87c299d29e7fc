// Interoperability with an independent BEP 5 implementation: aria2c (Debian's aria2) on
// loopback, with DHT only (no trackers, LPD or PEX), entering the DHT through our node.
//  - aria2 looks the magnet's infohash up through our node and connects to the peer we return;
//  - aria2 announces itself to our node (announce_peer with its listen port);
//  - aria2 takes our announce_peer and answers our get_peers: a node of ours that knows only
//    aria2 finds the peer another node of ours announced.
import { assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DhtNode } from '../../modules/dht/node.ts';
import { sha1 } from '../../modules/dht/item.ts';
import { freePort } from '../helpers/diod.ts';
import { waitFor } from '../helpers/project.ts';

const nodes: DhtNode[] = [];
let aria: ChildProcess | undefined;
let ariaLog = '';
let dir = '';
let peerServer: net.Server | undefined;
const connections: net.Socket[] = [];
let node: DhtNode;
let peerPort = 0;
let ariaDhtPort = 0;
let ariaListenPort = 0;
const infohash = sha1('cheshire aria2 interop test');

test.before(async () => {
  const v = spawnSync('aria2c', ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (v.error || v.status !== 0) throw new Error('aria2c is not installed (Debian: apt-get install aria2); the DHT interop test needs it');
  dir = await mkdtemp(join(tmpdir(), 'chs-aria2-'));
  node = await DhtNode.create({ queryTimeoutMs: 1000, opTimeoutMs: 8000 });
  nodes.push(node);
  // The "peer" our node hands out: a TCP listener standing for a BitTorrent client.
  peerServer = net.createServer((s) => { connections.push(s); s.on('error', () => undefined); });
  await new Promise<void>((r) => peerServer!.listen(0, '127.0.0.1', () => r()));
  peerPort = (peerServer.address() as net.AddressInfo).port;
  await node.announce(infohash, peerPort); // stored locally (we are the only node yet)
  ariaDhtPort = await freePort();
  ariaListenPort = await freePort();
  aria = spawn('aria2c', [
    '--enable-dht=true', `--dht-listen-port=${ariaDhtPort}`, `--dht-entry-point=127.0.0.1:${node.address().port}`,
    `--dht-file-path=${join(dir, 'dht.dat')}`, '--interface=127.0.0.1', '--disable-ipv6=true',
    '--bt-enable-lpd=false', '--enable-peer-exchange=false', `--listen-port=${ariaListenPort}`,
    '--bt-metadata-only=true', '--bt-save-metadata=false', '--summary-interval=0', '--quiet=true',
    `--dir=${dir}`, `magnet:?xt=urn:btih:${infohash.toString('hex')}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  aria.stdout!.on('data', (d) => { ariaLog += d; });
  aria.stderr!.on('data', (d) => { ariaLog += d; });
});

test.after(async () => {
  if (aria && aria.exitCode === null) {
    const gone = new Promise((r) => aria!.once('exit', r));
    aria.kill('SIGKILL');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
  }
  for (const s of connections) s.destroy();
  await new Promise((r) => (peerServer ? peerServer.close(r) : r(undefined)));
  await Promise.all(nodes.map((n) => n.destroy()));
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('aria2c joins through our node, gets the peer we return for the infohash and connects to it', async () => {
  await waitFor(`aria2c to connect to the peer our node returned (aria2 log: ${ariaLog.slice(-500)})`, () => connections.length > 0, 20_000, 50);
  assert.ok(node.nodes().some((n) => n.port === ariaDhtPort), 'aria2c is in our routing table');
  assert.ok((node.stats.queriesReceived.get_peers ?? 0) > 0, 'aria2c sent get_peers to us');
});

test('aria2c announces itself to our node (announce_peer with its listen port)', async () => {
  const hit = await waitFor('announce_peer from aria2c', () => node.stats.announcesReceived.find((a) => a.infohash === infohash.toString('hex')), 20_000, 50);
  assert.is(hit!.port, ariaListenPort);
  const found = await node.lookup(infohash);
  assert.ok(found.peers.some((p) => p.port === ariaListenPort), 'our lookup returns aria2c as a peer');
});

test('aria2c stores our announce_peer and answers our get_peers', async () => {
  const other = sha1('announced by us, stored by aria2c');
  const announcer = await DhtNode.create({ bootstrap: [`127.0.0.1:${ariaDhtPort}`], queryTimeoutMs: 1000, opTimeoutMs: 8000 });
  nodes.push(announcer);
  await announcer.bootstrap();
  assert.ok(announcer.nodes().some((n) => n.port === ariaDhtPort), 'aria2c answered our ping/find_node');
  const ann = await announcer.announce(other, 40_001);
  assert.ok(ann.stored >= 1, 'someone took the announce');
  // A node that knows only aria2c (no route to our other nodes is needed: aria2c holds the peer).
  const finder = await DhtNode.create({ queryTimeoutMs: 1000, opTimeoutMs: 8000 });
  nodes.push(finder);
  const r = await finder.query({ host: '127.0.0.1', port: ariaDhtPort }, 'get_peers', { info_hash: other });
  const values = (r.values ?? []) as Buffer[];
  const peers = values.map((b) => `${b[0]}.${b[1]}.${b[2]}.${b[3]}:${b.readUInt16BE(4)}`);
  assert.ok(peers.includes('127.0.0.1:40001'), `aria2c's get_peers answer: ${peers.join(', ') || JSON.stringify(Object.keys(r))}`);
});

test('no datagram of ours left loopback', () => {
  assertLoopbackOnly();
});

test.run();
