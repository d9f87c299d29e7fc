// Fuzzing a live server over TCP. Two kinds of connection, seeded and reproducible:
//  - clean: whole frames with a correct size[4] (random valid requests aimed at real fids and
//    names, mutated frames, NUL in names, deep walks, unknown types, stray Tversions/Tflushes),
//    then a probe (Tversion, Tattach, Tgetattr) that must be answered, unless the server closed
//    the connection (allowed: e.g. a frame over a renegotiated msize);
//  - dirty: garbage, huge or tiny size fields, truncated frames, then our side hangs up; the
//    server must close the connection.
// The properties: the process survives, every connection is answered or closed within a
// deadline, and a fresh connection works afterwards. Bounded in the tests; more on demand:
//   tsx fs/server/fuzz.ts 100000 [seed]

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, encode, MSG, NOFID, NOTAG, DIALECT_MESSAGES } from '../codec/index.ts';
import type { Dialect, Msg, MsgType } from '../codec/index.ts';
import { Gen, mutate, prng, randomMessage } from '../codec/fuzz.ts';
import { memfs } from '../tree/memfs.ts';
import { ctl, dir, file, root, stream } from '../tree/synthetic.ts';
import type { SynDir } from '../tree/synthetic.ts';
import type { Node } from '../tree/types.ts';
import { RawConn, withDeadline } from '../testing/raw.ts';
import { NineServer } from './server.ts';

const NAMES = ['n', 'f', 'log', 'ctl', 'mem', '..', '.', '', 'a/b', 'nope', 'x'.repeat(255)];
const FID_FIELDS = ['fid', 'newfid', 'afid', 'dfid', 'dirfid', 'olddirfid', 'newdirfid'] as const;
const PROBE_TAG = 0xfffe;

/** The tree the fuzzer aims at: nested dirs (deep walks), files, a ctl, a stream, a small memfs. */
export function fuzzTree(): SynDir {
  let deep: Node = file('bottom', { read: () => 'bottom\n' });
  for (let i = 0; i < 40; i++) deep = dir('n', [deep, file('f', { read: () => `level ${i}\n` })]);
  const log = stream('log', { history: 4096 });
  log.append('a log line');
  return root([
    deep,
    file('f', { read: () => 'hello\n', write: () => undefined }),
    ctl('ctl', (c) => { if (c.startsWith('x')) throw new Error(`bad command ${c}`); return `ok ${c}\n`; }),
    log,
    log.follower(),
    memfs({ maxBytes: 1 << 20, name: 'mem' }),
  ]);
}

export interface SessionFuzzResult { frames: number; clean: number; dirty: number; closedByServer: number; ms: number }

function tRequests(dialect: Dialect): MsgType[] {
  return [...DIALECT_MESSAGES[dialect]].filter((t) => t.startsWith('T'));
}

/** A random request aimed at the fids (0..5) and names the tree has. */
function aimedMessage(g: Gen, dialect: Dialect): Msg {
  // A stray Tversion resets the session (and a random msize is usually refused): keep them rare.
  const types = tRequests(dialect).filter((t) => t !== 'Tversion' || g.int(40) === 0);
  const m = randomMessage(g, g.pick(types), dialect) as unknown as Record<string, unknown>;
  for (const k of FID_FIELDS) if (k in m && g.int(10) < 8) m[k] = g.int(6);
  if ('wnames' in m && g.int(2) === 0) {
    const n = g.int(3) === 0 ? 16 : g.int(5);
    m.wnames = Array.from({ length: n }, () => (g.int(3) === 0 ? 'n' : g.pick(NAMES)));
  }
  if ('name' in m && g.int(2) === 0) m.name = g.pick(NAMES);
  if ('tag' in m) m.tag = g.int(20) === 0 ? NOTAG : g.int(6) === 0 ? g.int(4) : 4 + g.int(4000);
  if ('count' in m && g.int(2) === 0) m.count = g.int(9000);
  if ('offset' in m && g.int(2) === 0) m.offset = BigInt(g.int(100));
  if (m.type === 'Tversion' && g.int(3) !== 0) m.version = dialect;
  return m as unknown as Msg;
}

function cleanFrame(g: Gen, dialect: Dialect): Uint8Array {
  const r = g.int(10);
  if (r === 0) {
    // a deep walk down the nested directories
    const names = Array.from({ length: 16 }, () => (g.int(8) === 0 ? '..' : 'n'));
    return encode({ type: 'Twalk', tag: g.int(12), fid: g.int(6), newfid: g.int(6), wnames: names });
  }
  if (r === 1) {
    // a name with a NUL byte in it
    const f = encode({ type: 'Twalk', tag: g.int(12), fid: 1, newfid: 2, wnames: ['abc'] });
    f[f.length - 2] = 0;
    return f;
  }
  if (r === 2) {
    // unknown or reserved type byte
    const f = encode({ type: 'Tclunk', tag: g.int(12), fid: g.int(6) });
    f[4] = g.pick([0, 1, 6, 106, 99, 200, 255, MSG.Rread]);
    return f;
  }
  let frame: Uint8Array;
  try {
    frame = encode(aimedMessage(g, dialect));
  } catch {
    frame = encode({ type: 'Tclunk', tag: 1, fid: 9 });
  }
  if (r < 6) return frame;
  const m = mutate(g, frame);
  // keep size[4] honest so the connection stays in frame
  if (m.length >= 4) new DataView(m.buffer, m.byteOffset, m.byteLength).setUint32(0, m.length, true);
  return m.length >= 7 ? m : frame;
}

const PATHS = [['f'], ['n'], ['n', 'n', 'f'], ['log'], ['log.follow'], ['ctl'], ['mem'], ['n', '..', 'mem'], [], Array.from({ length: 16 }, () => 'n')];

/** A well-formed request in a plausible sequence (walk, open, read, write, ...), sent and awaited. */
function scenarioMessage(g: Gen, dialect: Dialect, tag: number): Msg {
  const fid = 2 + g.int(4);
  const L = dialect === '9P2000.L';
  switch (g.int(10)) {
    case 0: case 1: return { type: 'Twalk', tag, fid: g.int(4) === 0 ? fid : 1, newfid: fid, wnames: g.pick(PATHS) };
    case 2: return L ? { type: 'Tlopen', tag, fid, flags: g.int(3) } : { type: 'Topen', tag, fid, mode: g.int(3) | (g.int(4) === 0 ? 0x10 : 0) };
    case 3: return { type: 'Tread', tag, fid, offset: BigInt(g.int(3) === 0 ? g.int(50) : 0), count: g.int(10000) };
    case 4: return L ? { type: 'Treaddir', tag, fid, offset: BigInt(g.int(5)), count: 20 + g.int(500) } : { type: 'Tread', tag, fid, offset: 0n, count: 50 + g.int(500) };
    case 5: return { type: 'Twrite', tag, fid, offset: BigInt(g.int(100)), data: Buffer.from(g.pick(['x', 'x1', 'ok\n', 'a'.repeat(g.int(3000))])) };
    case 6: return { type: 'Tclunk', tag, fid };
    case 7: return L ? { type: 'Tgetattr', tag, fid, requestMask: 0x3fffn } : { type: 'Tstat', tag, fid };
    case 8: return L ? { type: 'Tlcreate', tag, fid, name: g.pick(['a', 'b', 'c']), flags: 2, mode: 0o644, gid: 0 }
      : { type: 'Tcreate', tag, fid, name: g.pick(['a', 'b', 'c']), perm: 0o644, mode: 2, ...(dialect === '9P2000.u' ? { extension: '' } : {}) } as Msg;
    default: return { type: 'Tremove', tag, fid };
  }
}

function dirtyBytes(g: Gen, dialect: Dialect): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = g.int(4); i > 0; i--) parts.push(cleanFrame(g, dialect));
  const r = g.int(5);
  if (r === 0) {
    const b = new Uint8Array(1 + g.int(300));
    for (let i = 0; i < b.length; i++) b[i] = g.int(256);
    parts.push(b);
  } else if (r === 1) {
    parts.push(Uint8Array.from([0xff, 0xff, 0xff, g.int(2) ? 0xff : 0x7f, 116, 0, 0]));
  } else if (r === 2) {
    parts.push(Uint8Array.from([g.int(7), 0, 0, 0]));
  } else {
    const f = cleanFrame(g, dialect);
    parts.push(f.subarray(0, 1 + g.int(f.length - 1)));
  }
  return Buffer.concat(parts);
}

const PROBE_MSIZE = 8191;

/** The next frame with `tag` (others skipped); false if the server closed, throws at the deadline. */
async function awaitTag(c: RawConn, tag: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    let f: Uint8Array;
    try {
      f = await c.nextFrame(`the reply to scenario tag ${tag}`, Math.max(1, end - Date.now()));
    } catch (err) {
      if (c.isClosed) return false;
      throw err;
    }
    if ((f[5]! | (f[6]! << 8)) === tag) return true;
  }
}

/** Waits for the probe's Rversion (tag, msize and version all match), skipping everything else. */
async function awaitProbe(c: RawConn, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    let f: Uint8Array;
    try {
      f = await c.nextFrame('the probe Rversion', Math.max(1, end - Date.now()));
    } catch (err) {
      if (c.isClosed) return false;
      throw err;
    }
    if (f[4] !== MSG.Rversion || (f[5]! | (f[6]! << 8)) !== PROBE_TAG) continue;
    // A fuzzed frame may have had its tag mutated into ours: check the rest too.
    try {
      const m = decode(f, '9P2000');
      if (m.type === 'Rversion' && m.msize === PROBE_MSIZE && m.version === '9P2000.L') return true;
    } catch { /* not ours */ }
  }
}

async function cleanConnection(port: number, g: Gen, frames: number, deadlineMs: number): Promise<{ closed: boolean }> {
  const dialect: Dialect = g.pick(['9P2000', '9P2000.L', '9P2000.u'] as const);
  const c = await RawConn.open(port, dialect);
  try {
    if (g.int(20) !== 0) {
      c.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: dialect });
      const nU = dialect === '9P2000' ? {} : { nUname: 0 };
      c.send({ type: 'Tattach', tag: 1, fid: 1, afid: NOFID, uname: 'u', aname: '', ...nU } as Msg);
    }
    for (let i = 0; i < frames; i++) {
      if (g.int(3) !== 0) { c.sendBytes(cleanFrame(g, dialect)); continue; }
      // Scenario steps use tags no random frame uses, and wait: later steps depend on earlier ones.
      const tag = 60000 + g.int(1000);
      const m = scenarioMessage(g, dialect, tag);
      c.send(m);
      // A read at the end of log.follow blocks until something is appended: flush it after a while.
      const patience = m.type === 'Tread' ? 100 : deadlineMs;
      let answered: boolean;
      try {
        answered = await awaitTag(c, tag, patience);
      } catch (err) {
        if (m.type !== 'Tread') throw err;
        c.send({ type: 'Tflush', tag: 59999, oldtag: tag });
        answered = await awaitTag(c, 59999, deadlineMs);
      }
      if (!answered) return { closed: true };
    }
    // Probe: a Tversion resets the session; everything after its Rversion is about the probe.
    c.send({ type: 'Tversion', tag: PROBE_TAG, msize: PROBE_MSIZE, version: '9P2000.L' });
    if (!await awaitProbe(c, deadlineMs)) return { closed: true };
    c.dialect = '9P2000.L';
    const a = await c.rpc({ type: 'Tattach', tag: 1, fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 }, deadlineMs);
    if (a.type !== 'Rattach') throw new Error(`probe attach answered ${a.type}`);
    const r = await c.rpc({ type: 'Tgetattr', tag: 2, fid: 1, requestMask: 0x7ffn }, deadlineMs);
    if (r.type !== 'Rgetattr') throw new Error(`probe getattr answered ${r.type}`);
    return { closed: false };
  } finally {
    c.close();
  }
}

async function dirtyConnection(port: number, g: Gen, deadlineMs: number): Promise<void> {
  const dialect: Dialect = g.pick(['9P2000', '9P2000.L'] as const);
  const c = await RawConn.open(port, dialect);
  try {
    if (g.int(2)) c.send({ type: 'Tversion', tag: NOTAG, msize: 8192, version: dialect });
    c.sendBytes(dirtyBytes(g, dialect));
    c.socket.end();
    await c.waitClosed('the server to close a connection after garbage and our FIN', deadlineMs);
  } finally {
    c.close();
  }
}

/** Runs `cases` frames against a live server on `port`. Throws naming seed and connection on a failure. */
export async function runSessionFuzz(port: number, cases: number, seed = 1, deadlineMs = 3000): Promise<SessionFuzzResult> {
  const started = Date.now();
  const g = new Gen(prng(seed));
  const res: SessionFuzzResult = { frames: 0, clean: 0, dirty: 0, closedByServer: 0, ms: 0 };
  let conn = 0;
  while (res.frames < cases) {
    conn++;
    const parallel = 1 + g.int(4);
    const jobs: Promise<void>[] = [];
    for (let j = 0; j < parallel && res.frames < cases; j++) {
      const sub = new Gen(prng(seed * 7919 + conn * 31 + j));
      if (g.int(4) === 0) {
        res.dirty++;
        res.frames += 3;
        jobs.push(dirtyConnection(port, sub, deadlineMs).catch((err: Error) => {
          throw new Error(`seed ${seed} connection ${conn}.${j} (dirty): ${err.message}`);
        }));
      } else {
        const n = 20 + g.int(80);
        res.clean++;
        res.frames += n;
        jobs.push(cleanConnection(port, sub, n, deadlineMs).then((r) => { if (r.closed) res.closedByServer++; }, (err: Error) => {
          throw new Error(`seed ${seed} connection ${conn}.${j} (clean): ${err.message}`);
        }));
      }
    }
    await Promise.all(jobs);
  }
  res.ms = Date.now() - started;
  return res;
}

/** Starts a server on the fuzz tree, runs, checks a fresh connection, closes. */
export async function fuzzOnce(cases: number, seed: number): Promise<SessionFuzzResult & { faults: number; faultSamples: string[] }> {
  let faults = 0;
  const faultSamples: string[] = [];
  const tree = fuzzTree();
  const server = new NineServer({
    attach: () => tree,
    flushTimeoutMs: 500,
    onError: (err, info) => {
      faults++;
      if (faultSamples.length < 5) faultSamples.push(`${info.request}: ${err instanceof Error ? err.stack : String(err)}`);
    },
  });
  const { port } = await server.listen(0, '127.0.0.1');
  try {
    const r = await runSessionFuzz(port, cases, seed);
    const c = await RawConn.negotiated(port, '9P2000.L');
    try {
      const a = await c.call({ type: 'Tattach', fid: 1, afid: NOFID, uname: 'u', aname: '', nUname: 0 });
      if (a.type !== 'Rattach') throw new Error('fresh connection after fuzzing could not attach');
      const w = await c.call({ type: 'Twalk', fid: 1, newfid: 2, wnames: ['f'] });
      if (w.type !== 'Rwalk' || w.wqids.length !== 1) throw new Error('fresh connection after fuzzing could not walk');
    } finally {
      c.close();
    }
    return { ...r, faults, faultSamples };
  } finally {
    await withDeadline(server.close(), 5000, 'server.close() after fuzzing');
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cases = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? Date.now() % 1e9);
  console.log(`session fuzz: ${cases} frames, seed ${seed}`);
  fuzzOnce(cases, seed).then((r) => console.log(JSON.stringify(r)), (err: unknown) => { console.error(err); process.exitCode = 1; });
}
