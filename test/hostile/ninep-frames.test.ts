// Hostile 9P, part 2: bad frames at volume. Against a real node (styx-root, maxMsize 64 KiB):
//   - the seeded session fuzzer (fs/server/fuzz.ts): garbage, truncated, mutated and oversized
//     frames, unknown types, NUL in names, deep walks, stray Tversions and Tflushes;
//   - msize games: a Tversion asking 4 GiB (must be lowered to maxMsize, and a frame past it
//     closes that connection), one asking below 4096 (refused), size fields of 4 GiB and 16 MiB
//     before any Tversion (closed at once, nothing buffered);
//   - Tflush storms: blocked reads of /log.follow flushed in bursts, flushes of unknown tags and
//     flushes of flushes, on several connections at once.
// The operator reads /status from a fresh connection throughout. Asserted: the node stays up and
// answers, every operator read succeeds, every flush is answered and no flushed request answers
// after its Rflush, the connections afterwards still work, memory and stalls stay bounded.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { L_O_RDONLY, NOFID, NOTAG } from '../../fs/codec/index.ts';
import type { Msg } from '../../fs/codec/index.ts';
import { runSessionFuzz } from '../../fs/server/fuzz.ts';
import { freePort } from '../helpers/diod.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';
import { fdCount, fdsSettle, OperatorLoop, RssWatch, show, StallWatch, summary, until } from './lib.ts';
import { Peer } from './peer.ts';

const MAX_MSIZE = 65536;
const RSS_BOUND_MB = 64;
const STALL_BOUND_MS = 500;
const FUZZ_FRAMES = Number(process.env.CHESHIRE_HOSTILE_FUZZ_FRAMES ?? 6000);

let node: StyxNode;
let port = 0;
const connections = () => (node.th.host.instances.get('styx-root')!.run!.service as { connections(): number }).connections();
const styxState = () => node.th.host.instances.get('styx-root')!.state;

test.before(async () => {
  port = await freePort();
  node = await startStyxNode({ role: [], port, config: { 'styx-root': { listen: `127.0.0.1:${port}`, maxMsize: MAX_MSIZE } } });
});

test.after(async () => {
  Peer.destroyAll();
  await node?.close();
});

test(`${FUZZ_FRAMES} fuzzed frames: the node stays up, every connection answered or closed, the operator served`, async () => {
  const fds = fdCount();
  const rss = new RssWatch();
  const stall = new StallWatch();
  const operator = new OperatorLoop(port, { pauseMs: 50 });
  let r;
  try {
    r = await runSessionFuzz(port, FUZZ_FRAMES, 0x6a57113, 3000);
  } finally {
    await operator.stop();
  }
  const op = operator.result;
  assert.equal(op.failures, [], 'every operator read succeeded');
  assert.ok(op.ok >= 5, `the operator read /status throughout (${op.ok} reads)`);
  assert.ok(r.frames >= FUZZ_FRAMES && r.clean > 10 && r.dirty > 3, show(r));
  assert.is(styxState(), 'active');
  await until('the node to hold no connection', () => connections() === 0, 3000);
  await fdsSettle(fds, 2, 'the fuzzing');
  const grown = rss.stop();
  const stalled = stall.stop();
  assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
  assert.ok(stalled < STALL_BOUND_MS, `the event loop stalled ${stalled.toFixed(0)} ms`);
  summary('9P malformed frames (session fuzz)', {
    trials: r.frames, failures: op.failures.length, connections: r.clean + r.dirty, closedByNode: r.closedByServer,
    operatorReads: op.ok, maxStallMs: Math.round(stalled), maxRssGrowthMb: grown,
  });
});

/** A 4-byte little-endian size field followed by `rest` bytes of junk. */
function sizeField(size: number, rest = 3): Uint8Array {
  const b = Buffer.alloc(4 + rest, 0x41);
  b.writeUInt32LE(size >>> 0, 0);
  return b;
}

test('msize games: a 4 GiB ask is lowered, a frame past msize or a huge size field closes the connection, a tiny msize is refused', async () => {
  const fds = fdCount();
  const rss = new RssWatch();
  const operator = new OperatorLoop(port, { pauseMs: 50 });
  const ROUNDS = 30;
  const failures: string[] = [];
  let trials = 0;
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const from = `127.0.0.${2 + (i % 8)}`;
      // 1. ask for 4 GiB: answered with at most maxMsize; then a frame one byte over it
      {
        trials++;
        const p = await Peer.open(port, from, '9P2000.L');
        const r = await p.rpc({ type: 'Tversion', tag: NOTAG, msize: 0xffffffff, version: '9P2000.L' });
        if (r.type !== 'Rversion' || r.msize > MAX_MSIZE || r.msize < 4096) failures.push(`4 GiB msize answered ${show(r)}`);
        else {
          p.send(sizeField(r.msize + 1, 64));
          await p.waitClosed('a frame over the agreed msize to close the connection').catch((e: Error) => failures.push(e.message));
        }
        p.destroy();
      }
      // 2. ask for less than 4096: refused (an error reply or a close), never agreed
      {
        trials++;
        const p = await Peer.open(port, from, i % 2 ? '9P2000.L' : '9P2000.u');
        p.send({ type: 'Tversion', tag: NOTAG, msize: 100 + i, version: p.dialect });
        try {
          const r = await p.reply(NOTAG, 'the answer to a 100-byte msize', 3000);
          if (r.type === 'Rversion' && r.version === p.dialect && r.msize < 4096) failures.push(`tiny msize agreed: ${show(r)}`);
        } catch (e) {
          if (!p.closed) failures.push((e as Error).message);
        }
        p.destroy();
      }
      // 3. and 4. before any Tversion: a size field of 4 GiB, then one of 16 MiB followed by 64 KiB of it
      for (const [size, rest] of [[0xffffffff, 3], [16 << 20, 65536]] as const) {
        trials++;
        const p = await Peer.open(port, from, '9P2000.L');
        p.send(sizeField(size, rest));
        await p.waitClosed(`a size field of ${size} to close the connection`).catch((e: Error) => failures.push(e.message));
        p.destroy();
      }
    }
  } finally {
    await operator.stop();
  }
  const op = operator.result;
  assert.equal(failures, []);
  assert.equal(op.failures, [], 'every operator read succeeded');
  assert.ok(op.ok >= 1, `the operator read /status meanwhile (${op.ok} reads)`);
  assert.is(styxState(), 'active');
  await until('the node to hold no connection', () => connections() === 0, 3000);
  await fdsSettle(fds, 2, 'the msize games');
  const grown = rss.stop();
  assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
  summary('9P oversized msize and size fields', { trials, failures: failures.length + op.failures.length, operatorReads: op.ok, maxRssGrowthMb: grown });
});

/** A connection attached and holding /log.follow open at its end, where a Tread waits. */
async function follower(from: string): Promise<{ p: Peer; end: bigint }> {
  const p = await Peer.open(port, from, '9P2000.L');
  const v = await p.rpc({ type: 'Tversion', tag: NOTAG, msize: 65536, version: '9P2000.L' });
  assert.is(v.type, 'Rversion');
  const steps: Msg[] = [
    { type: 'Tattach', tag: 1, fid: 1, afid: NOFID, uname: 'storm', aname: '', nUname: 0 },
    { type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames: ['log.follow'] },
    { type: 'Tlopen', tag: 1, fid: 2, flags: L_O_RDONLY },
  ];
  for (const m of steps) {
    const r = await p.rpc(m);
    assert.is(r.type, `R${m.type.slice(1)}`, `${m.type}: ${show(r)}`);
  }
  // Read to the end: data, then 0 bytes for the read that continues where data ended.
  let end = 0n;
  for (let i = 0; i < 200; i++) {
    const r = await p.rpc({ type: 'Tread', tag: 1, fid: 2, offset: end, count: 60000 });
    if (r.type !== 'Rread') throw new Error(`reading log.follow: ${show(r)}`);
    if (r.data.length === 0) return { p, end };
    end += BigInt(r.data.length);
  }
  throw new Error('log.follow never reached its end');
}

test('Tflush storms on blocked reads, unknown tags and flushes of flushes: every flush answered, nothing answered after its Rflush', async () => {
  const fds = fdCount();
  const rss = new RssWatch();
  const stall = new StallWatch();
  const operator = new OperatorLoop(port, { pauseMs: 50 });
  const CONNS = 4;
  const ROUNDS = 25;
  const BURST = 80;
  const failures: string[] = [];
  let flushes = 0;
  const peers: Peer[] = [];
  try {
    const fs = await Promise.all(Array.from({ length: CONNS }, (_, i) => follower(`127.0.0.${20 + i}`)));
    peers.push(...fs.map((f) => f.p));
    for (const p of peers) p.recording = true;
    await Promise.all(fs.map(async ({ p, end }, c) => {
      for (let round = 0; round < ROUNDS; round++) {
        const base = 100 + (round % 2) * 1000; // tags of this round; the previous round's are all settled
        const flushTags: number[] = [];
        // BURST blocked reads at the end of the stream, each flushed; between them flushes of
        // tags nobody uses and flushes of the flushes just sent.
        for (let k = 0; k < BURST; k++) {
          const t = base + k;
          p.send({ type: 'Tread', tag: t, fid: 2, offset: end, count: 4096 });
          p.send({ type: 'Tflush', tag: base + 300 + k, oldtag: t });
          flushTags.push(base + 300 + k);
          if (k % 8 === 0) {
            p.send({ type: 'Tflush', tag: base + 500 + k, oldtag: 40000 + k }); // unknown tag
            p.send({ type: 'Tflush', tag: base + 600 + k, oldtag: base + 300 + k }); // a flush of a flush
            flushTags.push(base + 500 + k, base + 600 + k);
          }
        }
        flushes += flushTags.length;
        for (const ft of flushTags) {
          const r = await p.reply(ft, `Rflush tag ${ft} (connection ${c}, round ${round})`, 5000).catch((e: Error) => { failures.push(e.message); return undefined; });
          if (r && r.type !== 'Rflush') failures.push(`flush tag ${ft} answered ${r.type}`);
        }
        // Give a late (wrong) answer a moment to show up. A read may be answered before its
        // Rflush (a log line arrived), never after it.
        await new Promise((res) => setTimeout(res, 10));
        const order = p.seen.splice(0);
        for (let k = 0; k < BURST; k++) {
          const flushedAt = order.findIndex((f) => f.tag === base + 300 + k && f.type === 'Rflush');
          const after = order.findIndex((f, i) => i > flushedAt && f.tag === base + k);
          if (flushedAt >= 0 && after >= 0) failures.push(`connection ${c} round ${round}: tag ${base + k} answered (${order[after]!.type}) after its Rflush`);
        }
        p.frames.length = 0;
        if (failures.length > 20) break;
      }
      // The connection still works after the storm.
      const g = await p.rpc({ type: 'Tgetattr', tag: 9, fid: 1, requestMask: 0x7ffn });
      if (g.type !== 'Rgetattr') failures.push(`after the storm: ${show(g)}`);
    }));
    // A blocked read still wakes for a new line after all that.
    const { p, end } = fs[0]!;
    p.send({ type: 'Tread', tag: 5000, fid: 2, offset: end, count: 65000 });
    await new Promise((res) => setTimeout(res, 50));
    node.th.host.log.info('hostile: a line after the flush storm');
    const r = await p.reply(5000, 'the blocked read to return the new log line', 3000);
    if (r.type !== 'Rread' || !Buffer.from(r.data).toString('utf8').includes('after the flush storm')) failures.push(`blocked read after the storm: ${show(r)}`);
  } finally {
    for (const p of peers) p.destroy();
    await operator.stop();
  }
  const op = operator.result;
  assert.equal(failures, []);
  assert.equal(op.failures, [], 'every operator read succeeded');
  assert.is(styxState(), 'active');
  await until('the node to hold no connection', () => connections() === 0, 3000);
  await fdsSettle(fds, 2, 'the flush storms');
  const grown = rss.stop();
  const stalled = stall.stop();
  assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
  assert.ok(stalled < STALL_BOUND_MS, `the event loop stalled ${stalled.toFixed(0)} ms`);
  summary('9P Tflush storms', { trials: flushes, failures: failures.length + op.failures.length, operatorReads: op.ok, maxStallMs: Math.round(stalled), maxRssGrowthMb: grown });
});

test.run();
