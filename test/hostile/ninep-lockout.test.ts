// Hostile 9P, part 1: lock-out. Against a real node (styx-root, handshake deadline shortened to
// 1.5 s and idle reaping to 2 s through its config), from other loopback addresses:
//   - 300 TCP connections that never send Tversion, 20 that send a Tversion one byte every
//     150 ms (slow-loris: it would take 3 s) and 20 that send Tversion but never Tattach;
//   - 40 connections from one address that finish their handshake and hold it: past the
//     per-address cap the rest are refused with the reason in the Rerror (ECONNREFUSED in
//     Rlerror); once they drop their fids they are reaped as idle.
// Meanwhile the operator connects afresh from 127.0.0.1 every round and reads /status. Asserted:
// every operator read succeeds; every hostile connection is closed by the node, none outlives its
// deadline; the node's connection count, descriptors and memory come back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encode, NOFID, NOTAG } from '../../fs/codec/index.ts';
import type { Msg } from '../../fs/codec/index.ts';
import { freePort } from '../helpers/diod.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';
import { fdCount, fdsSettle, OperatorLoop, RssWatch, summary, until } from './lib.ts';
import { openMany, Peer } from './peer.ts';

const HANDSHAKE_MS = 1500;
const IDLE_MS = 2000;
const PER_ADDRESS = 32; // styx-root's default maxPerAddress
const RSS_BOUND_MB = 64;
/** A connection the node must close by itself is closed within its deadline plus this (sweeps run every deadline/4). */
const SLACK_MS = 1500;

let node: StyxNode;
let port = 0;
const connections = () => (node.th.host.instances.get('styx-root')!.run!.service as { connections(): number }).connections();

test.before(async () => {
  port = await freePort();
  node = await startStyxNode({
    role: [], port,
    config: { 'styx-root': { listen: `127.0.0.1:${port}`, handshakeMs: HANDSHAKE_MS, idleMs: IDLE_MS } },
  });
});

test.after(async () => {
  Peer.destroyAll();
  await node?.close();
});

const addrs = (from: number, n: number) => Array.from({ length: n }, (_, i) => `127.0.0.${from + i}`);
const tversion = (dialect: string, tag = NOTAG): Msg => ({ type: 'Tversion', tag, msize: 8192, version: dialect });

test('300 silent, 20 slow-loris and 20 half-done handshakes: all closed by their deadline, the operator never locked out', async () => {
  const fds = fdCount();
  const rss = new RssWatch();
  const operator = new OperatorLoop(port);
  let peers: Peer[] = [];
  try {
    // 10 addresses x 30: under the per-address cap, over maxConnections (256) together.
    const silent = await openMany(port, 300, addrs(2, 10));
    const loris = await openMany(port, 20, ['127.0.0.12']);
    const frame = encode(tversion('9P2000.u'));
    for (const p of loris) p.trickle(frame, 150); // 21 bytes: ~3 s, twice the deadline
    const half = await openMany(port, 20, ['127.0.0.13']);
    for (const p of half) p.send(tversion('9P2000.u'));
    peers = [...silent, ...loris, ...half];

    await until('every hostile connection closed by the node', () => peers.every((p) => p.closed), HANDSHAKE_MS + SLACK_MS + 3000, 50,
      () => `${peers.filter((p) => !p.closed).length} still open`);
    const operatorResult = await operator.stop();

    const survivors = peers.filter((p) => p.closedByUs);
    const late = peers.filter((p) => p.closedAt - p.openedAt > HANDSHAKE_MS + SLACK_MS);
    const lorisDone = loris.filter((p) => p.sent >= frame.length || p.frames.length > 0);
    const halfAttached = half.filter((p) => p.frames.some((f) => f.type === 'Rattach'));
    assert.equal(operatorResult.failures, [], 'every operator read succeeded');
    assert.ok(operatorResult.ok >= 5, `the operator read /status throughout (${operatorResult.ok} reads)`);
    assert.is(survivors.length, 0, 'no hostile connection had to be closed by us');
    assert.is(late.length, 0, `closed within ${HANDSHAKE_MS + SLACK_MS} ms: ${late.map((p) => p.closedAt - p.openedAt).slice(0, 5).join(', ')} ms`);
    assert.is(lorisDone.length, 0, 'the slow-loris senders were cut off before finishing their Tversion');
    assert.ok(half.every((p) => p.frames.some((f) => f.type === 'Rversion')), 'the half-done handshakes got their Rversion');
    assert.is(halfAttached.length, 0);

    await until('the node to hold no connection', () => connections() === 0, 3000, 20, () => `${connections()} held`);
    await fdsSettle(fds, 2, 'the lock-out attack');
    assert.is(node.th.host.instances.get('styx-root')!.state, 'active');
    const grown = rss.stop();
    assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
    summary('9P lock-out (silent, slow-loris, half handshake)', {
      trials: peers.length, failures: survivors.length + late.length + lorisDone.length + operatorResult.failures.length,
      operatorReads: operatorResult.ok, operatorSlowestMs: operatorResult.slowestMs, maxRssGrowthMb: grown,
    });
  } finally {
    for (const p of peers) p.destroy();
    await operator.stop();
    rss.stop();
  }
});

test('handshaken hoarders: past the per-address cap refused with a reason; reaped once idle; the operator served', async () => {
  const fds = fdCount();
  const rss = new RssWatch();
  const operator = new OperatorLoop(port);
  const held: Peer[] = [];
  const extra: Peer[] = [];
  try {
    const from = '127.0.0.14';
    for (let i = 0; i < PER_ADDRESS; i++) {
      const p = await Peer.open(port, from);
      held.push(p);
      assert.is((await p.rpc(tversion('9P2000.u'))).type, 'Rversion');
      assert.is((await p.rpc({ type: 'Tattach', tag: 1, fid: 1, afid: NOFID, uname: 'hoarder', aname: '', nUname: 0 })).type, 'Rattach');
    }
    const reasons: string[] = [];
    for (let i = 0; i < 8; i++) {
      const dialect = i % 2 ? '9P2000.L' : '9P2000.u';
      const p = await Peer.open(port, from, dialect);
      extra.push(p);
      const r = await p.rpc(tversion(dialect, 7));
      if (r.type === 'Rerror') reasons.push(r.ename);
      else if (r.type === 'Rlerror') reasons.push(`errno ${r.ecode}`);
      else reasons.push(r.type);
      await p.waitClosed('the refused connection closed by the node');
    }
    assert.equal(reasons, Array.from({ length: 8 }, (_, i) => (i % 2 ? 'errno 111' : `CHS_ERR_9P_REFUSED: too many connections from ${from} (limit ${PER_ADDRESS})`)));
    assert.ok(held.every((p) => !p.closed), 'the established connections were kept');

    // Drop the fids: nothing held, nothing sent -> reaped after idleMs.
    for (const p of held) assert.is((await p.rpc({ type: 'Tclunk', tag: 2, fid: 1 })).type, 'Rclunk');
    const clunkedAt = Date.now();
    await until('the idle hoarders reaped', () => held.every((p) => p.closed), IDLE_MS + SLACK_MS + 2000, 50, () => `${held.filter((p) => !p.closed).length} open`);
    const reapedIn = Math.max(...held.map((p) => p.closedAt)) - clunkedAt;
    assert.ok(reapedIn >= IDLE_MS * 0.9, `not reaped before idleMs (${reapedIn} ms)`);
    assert.ok(reapedIn <= IDLE_MS + SLACK_MS, `reaped by idleMs + ${SLACK_MS} (${reapedIn} ms)`);
    assert.ok(held.every((p) => !p.closedByUs));
    const operatorResult = await operator.stop();
    assert.equal(operatorResult.failures, [], 'every operator read succeeded');
    assert.ok(operatorResult.ok >= 5, `the operator read /status throughout (${operatorResult.ok} reads)`);
    await until('the node to hold no connection', () => connections() === 0, 3000, 20, () => `${connections()} held`);
    await fdsSettle(fds, 2, 'the hoarding attack');
    const grown = rss.stop();
    assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
    summary('9P lock-out (hoarders at the per-address cap, idle reaping)', {
      trials: held.length + extra.length, failures: operatorResult.failures.length, refusedWithReason: reasons.length,
      operatorReads: operatorResult.ok, maxRssGrowthMb: grown,
    });
  } finally {
    for (const p of [...held, ...extra]) p.destroy();
    await operator.stop();
    rss.stop();
  }
});

test.run();
