// Escape attempts through a real node's writable export (styx-provider#rw at /export/rw, reached
// through styx-root and the export's mount point, as any client reaches it). Beside the export's
// root sits `outside/` with a canary file. Each attempt — walks with `..`, symlinks pointing out
// (absolute, relative, to a directory, to `..`) opened, written, truncated, created in, renamed
// through; renames from the export up into the synthetic tree or into a link; names holding `/`
// or `..`; attach names ending in a link or `..`; 9P2000.u DMSYMLINK creates; 9P2000 wstat
// renames — runs in 9P2000.L, 9P2000.u or 9P2000 as it applies, at the export's top (its mount
// point) and in a subdirectory. Then a race: a worker thread swaps a directory of the export for
// a symlink to `outside/` and back while the client writes, truncates, creates, renames and reads
// through it. Asserted after every phase: the canary's bytes, size, mtime, ctime, inode and link
// count and the listing of `outside/` are unchanged, no reply ever carried the canary's text,
// and the node still serves the export and the operator.
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '../../fs/client/client.ts';
import { DMSYMLINK, L_O_RDONLY, L_O_RDWR, L_O_TRUNC, L_O_WRONLY, nullStat, OREAD, OTRUNC, OWRITE, P9_SETATTR_MODE, P9_SETATTR_SIZE } from '../../fs/codec/index.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { freePort } from '../helpers/diod.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';
import { fdCount, fdsSettle, OperatorLoop, RssWatch, summary } from './lib.ts';

const SECRET = 'CANARY: nothing outside the export may read or write me';
const RACE_MS = 4000;
const RACE_OPS = 3000;
const RSS_BOUND_MB = 64;

let tmp = '';
let root = '';
let outside = '';
let node: StyxNode;
let port = 0;
let before = '';
/** Every reply's content, to check the canary never left. */
let leaked = 0;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'chs-hostile-export-'));
  root = join(tmp, 'root');
  outside = join(tmp, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, 'swap'));
  mkdirSync(join(outside, 'd'), { recursive: true });
  writeFileSync(join(outside, 'canary'), SECRET);
  writeFileSync(join(outside, 'd', 'canary'), SECRET);
  writeFileSync(join(root, 'inside.txt'), 'inside\n');
  writeFileSync(join(root, 'sub', 'file.txt'), 'in sub\n');
  writeFileSync(join(root, 'swap', 'canary'), 'the inside one\n');
  symlinkSync(join(outside, 'canary'), join(root, 'esc-abs'));
  symlinkSync('../outside/canary', join(root, 'esc-rel'));
  symlinkSync('../outside', join(root, 'esc-dir'));
  symlinkSync(outside, join(root, 'esc-dir-abs'));
  symlinkSync('..', join(root, 'esc-dotdot'));
  symlinkSync('../../outside/canary', join(root, 'sub', 'esc-up'));
  symlinkSync(outside, join(root, '.swap-link')); // the race's other half
  before = snapshot();
  port = await freePort();
  node = await startStyxNode({
    port, copy: ['styx-provider'], role: ['styx-provider#rw'],
    config: { 'styx-root': { listen: `127.0.0.1:${port}` }, 'styx-provider#rw': { root, writable: true } },
  });
});

test.after(async () => {
  await node?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Everything about `outside/` a read-through-a-link or a write would change (atime aside). */
function snapshot(): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const s = lstatSync(p, { bigint: true });
      out.push(JSON.stringify([p, s.isFile() ? readFileSync(p, 'utf8') : s.isDirectory() ? 'dir' : 'other', String(s.size), String(s.mode),
        String(s.nlink), String(s.ino), String(s.mtimeNs), String(s.ctimeNs)]));
      if (s.isDirectory()) walk(p);
    }
  };
  walk(outside);
  const d = lstatSync(outside, { bigint: true });
  out.push(JSON.stringify(['outside/', String(d.mtimeNs), String(d.ctimeNs), String(d.nlink)]));
  return out.join('\n');
}

/** A client whose every reply is checked for the canary's text. */
async function connect(dialect: Dialect): Promise<Client> {
  const c = await node.connect(dialect);
  const rpc = c.rpc.bind(c);
  c.rpc = (async (m: Parameters<Client['rpc']>[0], signal?: AbortSignal) => {
    const r = await rpc(m, signal);
    const text = JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    if (text.includes('CANARY')) leaked++;
    return r;
  }) as Client['rpc'];
  return c;
}

interface Tally { trials: number; refused: number; allowed: string[] }

/** Runs an attempt that must be refused (any 9P error); one that succeeds is recorded by name. */
async function refused(t: Tally, what: string, attempt: () => Promise<unknown>): Promise<void> {
  t.trials++;
  try {
    await attempt();
    t.allowed.push(what);
  } catch {
    t.refused++;
  }
}

/** Runs an attempt that may succeed (it acts inside the export) or fail; only the snapshot judges it. */
async function harmless(t: Tally, attempt: () => Promise<unknown>): Promise<void> {
  t.trials++;
  try { await attempt(); } catch { /* refused is fine too */ }
}

/** Walks `names` from `from` to a fresh fid; resolves with how many names were walked (0 on an error). */
async function walkCount(c: Client, from: number, names: string[]): Promise<number> {
  const newfid = c.allocFid();
  try {
    const r = await c.rpc({ type: 'Twalk', fid: from, newfid, wnames: names });
    if (r.wqids.length === names.length) await c.rpc({ type: 'Tclunk', fid: newfid }).catch(() => undefined);
    return r.wqids.length;
  } catch {
    return 0;
  }
}

const LINKS = ['esc-abs', 'esc-rel', 'esc-dir', 'esc-dir-abs', 'esc-dotdot'];

test('walks, links, creates, renames and attach names aimed outside the export: nothing outside read or written', async () => {
  const fds = fdCount();
  const rss = new RssWatch();
  const operator = new OperatorLoop(port, { pauseMs: 50 });
  const t: Tally = { trials: 0, refused: 0, allowed: [] };
  const L = await connect('9P2000.L');
  const U = await connect('9P2000.u');
  const P = await connect('9P2000');
  const top = await L.walkPath('/export/rw');
  const sub = await L.walkPath('/export/rw/sub');
  const exportDir = await L.walkPath('/export');
  const uid = process.getgid?.() ?? 0;
  try {
    // Walks: `..` from the export leads into the node's own tree, never to the disk beside it;
    // a walk stops at a symlink.
    for (const names of [['..', '..', '..', 'outside', 'canary'], ['..', 'outside'], ['sub', '..', '..', 'outside'],
      ...LINKS.map((l) => [l, 'canary']), ...LINKS.map((l) => [l, 'd', 'canary']), ['sub', 'esc-up', 'canary']]) {
      t.trials++;
      const n = await walkCount(L, top, names);
      if (n === names.length) t.allowed.push(`walk ${names.join('/')}`);
      else t.refused++;
    }
    for (const c of [L, U, P]) {
      for (const link of [...LINKS, 'sub/esc-up']) {
        // Open the link itself: read, write, write+truncate.
        for (const [mode, what] of [['r', 'read'], ['w', 'write'], ['rw', 'read-write']] as const) {
          await refused(t, `${c.dialect} open ${link} ${what}`, async () => {
            const fid = await c.walkPath(`/export/rw/${link}`);
            try {
              await c.open(fid, mode, { truncate: mode !== 'r' });
              if (mode !== 'w') await c.read(fid, 0, 4096);
              if (mode !== 'r') await c.write(fid, 0, Buffer.from('PWNED'));
            } finally {
              await c.clunk(fid).catch(() => undefined);
            }
          });
        }
        // Create, mkdir inside the link (as if it were a directory).
        await refused(t, `${c.dialect} create in ${link}`, async () => {
          const fid = await c.walkPath(`/export/rw/${link}`);
          try {
            await c.create(fid, 'planted', { perm: 0o644, access: 'rw' });
          } finally {
            await c.clunk(fid).catch(() => undefined);
          }
        });
        await refused(t, `${c.dialect} mkdir in ${link}`, () => c.mkdir(`/export/rw/${link}/planted-dir`));
      }
    }
    // 9P2000.L: through the links as directories, and at the export's top.
    for (const link of LINKS) {
      const lf = await L.walkPath(`/export/rw/${link}`);
      try {
        await refused(t, `symlink in ${link}`, () => L.rpc({ type: 'Tsymlink', fid: lf, name: 'planted', symtgt: 'x', gid: uid }));
        await refused(t, `unlink canary in ${link}`, () => L.rpc({ type: 'Tunlinkat', dirfid: lf, name: 'canary', flags: 0 }));
        await refused(t, `rename into ${link}`, () => L.rpc({ type: 'Trenameat', olddirfid: top, oldname: 'inside.txt', newdirfid: lf, newname: 'stolen' }));
        await refused(t, `rename canary out of ${link}`, () => L.rpc({ type: 'Trenameat', olddirfid: lf, oldname: 'canary', newdirfid: top, newname: 'stolen' }));
        await refused(t, `truncate ${link}`, () => L.rpc({ type: 'Tsetattr', fid: lf, valid: P9_SETATTR_SIZE, mode: 0, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }));
        await refused(t, `chmod ${link}`, () => L.rpc({ type: 'Tsetattr', fid: lf, valid: P9_SETATTR_MODE, mode: 0o777, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n }));
        await refused(t, `lopen ${link} O_TRUNC`, async () => {
          const f = await L.walkPath(`/export/rw/${link}`);
          try { await L.rpc({ type: 'Tlopen', fid: f, flags: L_O_WRONLY | L_O_TRUNC }); } finally { await L.clunk(f).catch(() => undefined); }
        });
        // A hard link to the symlink is a link to the symlink (inside), never to its target.
        await harmless(t, () => L.rpc({ type: 'Tlink', dfid: top, fid: lf, name: `hard-${link}` }));
      } finally {
        await L.clunk(lf).catch(() => undefined);
      }
    }
    // Renames from the export up into the synthetic tree (/export), and names that are paths.
    const inside = await L.walkPath('/export/rw/inside.txt');
    try {
      await refused(t, 'renameat up into /export', () => L.rpc({ type: 'Trenameat', olddirfid: top, oldname: 'inside.txt', newdirfid: exportDir, newname: 'moved' }));
      await refused(t, 'rename up into /export', () => L.rpc({ type: 'Trename', fid: inside, dfid: exportDir, name: 'moved' }));
      for (const name of ['../moved', '../../outside/stolen', 'a/b', '..', '.', '', 'x\0y']) {
        await refused(t, `renameat to ${JSON.stringify(name)}`, () => L.rpc({ type: 'Trenameat', olddirfid: top, oldname: 'inside.txt', newdirfid: top, newname: name }));
        await refused(t, `rename to ${JSON.stringify(name)}`, () => L.rpc({ type: 'Trename', fid: inside, dfid: top, name }));
        await refused(t, `lcreate ${JSON.stringify(name)}`, async () => {
          const d = await L.walkPath('/export/rw');
          try { await L.rpc({ type: 'Tlcreate', fid: d, name, flags: L_O_RDWR, mode: 0o644, gid: uid }); } finally { await L.clunk(d).catch(() => undefined); }
        });
        await refused(t, `mkdir ${JSON.stringify(name)}`, () => L.rpc({ type: 'Tmkdir', dfid: sub, name, mode: 0o755, gid: uid }));
        await refused(t, `symlink named ${JSON.stringify(name)}`, () => L.rpc({ type: 'Tsymlink', fid: top, name, symtgt: outside, gid: uid }));
      }
    } finally {
      await L.clunk(inside).catch(() => undefined);
    }
    // New links pointing out are text: made (confined), never followed.
    await harmless(t, () => L.rpc({ type: 'Tsymlink', fid: top, name: 'new-abs', symtgt: join(outside, 'canary'), gid: uid }));
    await harmless(t, () => L.rpc({ type: 'Tsymlink', fid: sub, name: 'new-dir', symtgt: '../../outside', gid: uid }));
    const u = await U.walkPath('/export/rw');
    try {
      await harmless(t, () => U.rpc({ type: 'Tcreate', fid: u, name: 'u-link', perm: (DMSYMLINK | 0o777) >>> 0, mode: OREAD, extension: join(outside, 'canary') }));
    } finally {
      await U.clunk(u).catch(() => undefined);
    }
    for (const link of ['new-abs', 'sub/new-dir', 'u-link']) {
      await refused(t, `write through ${link}`, () => L.writeFile(`/export/rw/${link}`, 'PWNED', { create: false }));
      await refused(t, `read through ${link}`, () => L.readFile(`/export/rw/${link}`));
      await refused(t, `create through ${link}`, () => L.writeFile(`/export/rw/${link}/planted`, 'PWNED'));
    }
    // 9P2000 wstat renames (a name with a path in it) and opens of links with OTRUNC.
    for (const name of ['../../outside/stolen', '../stolen', 'a/b', '..']) {
      await refused(t, `wstat rename to ${name}`, async () => {
        const f = await P.walkPath('/export/rw/inside.txt');
        try { await P.rpc({ type: 'Twstat', fid: f, stat: { ...nullStat('9P2000'), name } }); } finally { await P.clunk(f).catch(() => undefined); }
      });
    }
    for (const link of LINKS) {
      await refused(t, `Topen ${link} OTRUNC`, async () => {
        const f = await P.walkPath(`/export/rw/${link}`);
        try { await P.rpc({ type: 'Topen', fid: f, mode: OWRITE | OTRUNC }); } finally { await P.clunk(f).catch(() => undefined); }
      });
    }
    // Attach names: through a link, past the top with `..`; at the top, `..` stays there.
    for (const aname of ['/export/rw/esc-dir', '/export/rw/esc-dir-abs', '/export/rw/..', '/export/rw/../..', '/export/rw/esc-dotdot', '/export/rw']) {
      t.trials++;
      const c = await connect('9P2000.L');
      try {
        const { fid } = await c.attach({ uname: 'test', aname });
        const reached = [['canary'], ['..', 'outside', 'canary'], ['..', '..', 'outside', 'canary'], ['d', 'canary']];
        let allowed = false;
        for (const names of reached) if (await walkCount(c, fid, names) === names.length) allowed = true;
        if (allowed) t.allowed.push(`attach ${aname} reached a canary`);
        else t.refused++;
      } catch {
        t.refused++;
      } finally {
        await c.close();
      }
    }
  } finally {
    await L.clunk(top).catch(() => undefined);
    await L.clunk(sub).catch(() => undefined);
    await L.clunk(exportDir).catch(() => undefined);
    await operator.stop();
    for (const c of [L, U, P]) await c.close();
  }
  const op = operator.result;
  const after = snapshot();
  assert.equal(t.allowed, [], 'attempts that should have been refused');
  assert.is(leaked, 0, 'no reply carried the canary');
  assert.is(after, before, 'outside/ unchanged (bytes, size, mode, links, inode, mtime, ctime, listing)');
  assert.equal(op.failures, []);
  // The export itself still works.
  const c = await connect('9P2000.L');
  assert.is((await c.readFile('/export/rw/inside.txt')).toString(), 'inside\n');
  await c.writeFile('/export/rw/sub/written.txt', 'fine\n');
  assert.is(readFileSync(join(root, 'sub', 'written.txt'), 'utf8'), 'fine\n');
  await c.close();
  await fdsSettle(fds, 3, 'the escape attempts');
  const grown = rss.stop();
  assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
  summary('export escape (walks, links, creates, renames, attach names)', {
    trials: t.trials, failures: t.allowed.length + leaked + (after === before ? 0 : 1) + op.failures.length, refused: t.refused,
    operatorReads: op.ok, maxRssGrowthMb: grown,
  });
});

/** Swaps root/swap between the real directory and a symlink to outside/, until told or `ms`. */
const SWAPPER = `
const { parentPort, workerData } = require('node:worker_threads');
const { renameSync } = require('node:fs');
const { join } = require('node:path');
const { root, ms, max } = workerData;
const swap = join(root, 'swap'), dir = join(root, '.swap-dir'), link = join(root, '.swap-link');
let stop = false, n = 0;
parentPort.on('message', () => { stop = true; });
const end = Date.now() + ms;
function round() {
  for (let i = 0; i < 50 && n < max && Date.now() < end && !stop; i++, n++) {
    renameSync(swap, dir); renameSync(link, swap); // swap is now the link to outside/
    renameSync(swap, link); renameSync(dir, swap); // and the real directory again
  }
  if (n < max && Date.now() < end && !stop) setImmediate(round);
  else parentPort.postMessage(n);
}
round();
`;

test(`a race: ${RACE_OPS} operations through a directory swapped for a symlink to outside/ and back`, async () => {
  const fds = fdCount();
  const rss = new RssWatch();
  const operator = new OperatorLoop(port, { pauseMs: 50 });
  const L = await connect('9P2000.L');
  const worker = new Worker(SWAPPER, { eval: true, workerData: { root, ms: RACE_MS + 2000, max: 1_000_000 } });
  const swaps = new Promise<number>((resolve, reject) => { worker.once('message', resolve); worker.once('error', reject); });
  const errors: Record<string, number> = {};
  let n = 0;
  try {
    const end = Date.now() + RACE_MS;
    const kinds: Array<[string, () => Promise<unknown>]> = [
      ['write', () => L.writeFile('/export/rw/swap/canary', 'PWNED', { create: false })],
      ['truncate-open', async () => {
        const f = await L.walkPath('/export/rw/swap/canary');
        try { await L.rpc({ type: 'Tlopen', fid: f, flags: L_O_WRONLY | L_O_TRUNC }); } finally { await L.clunk(f).catch(() => undefined); }
      }],
      ['read', () => L.readFile('/export/rw/swap/canary')],
      ['create', () => L.writeFile('/export/rw/swap/planted', 'PWNED')],
      ['rename-out-and-back', async () => {
        const t = await L.walkPath('/export/rw');
        const s = await L.walkPath('/export/rw/swap').catch(async (e: unknown) => { await L.clunk(t); throw e; });
        try {
          await L.rpc({ type: 'Trenameat', olddirfid: s, oldname: 'canary', newdirfid: t, newname: 'stolen' });
          await L.rpc({ type: 'Trenameat', olddirfid: t, oldname: 'stolen', newdirfid: s, newname: 'canary' });
        } finally {
          await L.clunk(s).catch(() => undefined);
          await L.clunk(t).catch(() => undefined);
        }
      }],
      ['setattr-size', async () => {
        const f = await L.walkPath('/export/rw/swap/canary');
        try {
          await L.rpc({ type: 'Tsetattr', fid: f, valid: P9_SETATTR_SIZE, mode: 0, uid: 0, gid: 0, size: 1n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n });
        } finally {
          await L.clunk(f).catch(() => undefined);
        }
      }],
      ['held-fid-open', async () => {
        // Walk first, let the swap happen, then open the held fid.
        const f = await L.walkPath('/export/rw/swap/canary');
        try {
          await new Promise((r) => setImmediate(r));
          await L.rpc({ type: 'Tlopen', fid: f, flags: L_O_RDONLY });
          await L.read(f, 0, 4096);
        } finally {
          await L.clunk(f).catch(() => undefined);
        }
      }],
    ];
    // Four attempts in flight at a time, so requests interleave with each other and the swaps.
    await Promise.all([0, 1, 2, 3].map(async (lane) => {
      for (let i = lane; n < RACE_OPS && Date.now() < end; i += 4) {
        const [kind, op] = kinds[i % kinds.length]!;
        n++;
        try { await op(); } catch { errors[kind] = (errors[kind] ?? 0) + 1; }
      }
    }));
  } finally {
    worker.postMessage('stop');
    await Promise.race([swaps, new Promise((r) => setTimeout(r, 3000))]);
    await worker.terminate();
    await operator.stop();
  }
  const swapped = await swaps.catch(() => -1);
  const after = snapshot();
  const op = operator.result;
  assert.ok(swapped > 100, `the swapper ran (${swapped} swaps)`);
  assert.ok(n >= 200, `the client ran (${n} operations)`);
  assert.is(leaked, 0, 'no reply carried the canary');
  assert.is(after, before, 'outside/ unchanged (bytes, size, mode, links, inode, mtime, ctime, listing)');
  assert.equal(op.failures, []);
  // Attempts both failed (through the link) and succeeded (through the real directory): the race was real.
  const refusedOps = Object.values(errors).reduce((a, b) => a + b, 0);
  assert.ok(refusedOps > 0 && refusedOps < n, `${refusedOps} of ${n} operations refused: ${JSON.stringify(errors)}`);
  await L.close();
  const c = await connect('9P2000.L');
  assert.ok((await c.ls('/export/rw')).some((e) => e.name === 'swap'), 'the export still lists');
  await c.close();
  await fdsSettle(fds, 3, 'the race');
  const grown = rss.stop();
  assert.ok(grown < RSS_BOUND_MB, `RSS grew by ${grown.toFixed(1)} MiB`);
  summary('export escape (directory/symlink swap race)', {
    trials: n, failures: leaked + (after === before ? 0 : 1) + op.failures.length, swaps: swapped,
    refusedOps, operatorReads: op.ok, maxRssGrowthMb: grown,
  });
});

test.run();
