// kill -9 while config is being written, against real `cheshire start` processes on a temp project
// (styx-root and a module `web` with an integer `n`). Each round starts the node, checks that
// what it runs, cheshire.json and the newest revision agree with each other and with the last
// write the client saw acknowledged (or the one in flight when the node died: never older, never
// anything else), that no temp file of a dead writer is left, then writes {"n": k} for k = 1, 2,
// ... through /modules/web/config until the node is killed with SIGKILL at a seeded random
// moment. After the last kill the node starts once more, is checked, and is stopped with SIGTERM
// (exit 0). In the first and the last round a second `cheshire start` in the same folder is
// refused (CHS_ERR_ALREADY_RUNNING naming the running pid) without touching status.json or the
// lock, and the running node keeps serving. CHESHIRE_HOSTILE_KILLS changes the number of kills
// (default 20), CHESHIRE_HOSTILE_SEED the seed (printed). The summary's RSS growth is the node
// process's, from serving to the moment it was killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pidAlive } from '../../base/pid.ts';
import { RevisionStore } from '../../core/config/revisions.ts';
import { Client } from '../../fs/client/client.ts';
import { prng } from '../../fs/codec/fuzz.ts';
import { RemoteError } from '../../fs/errors.ts';
import { withDeadline } from '../../fs/testing/raw.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { freePort } from '../helpers/diod.ts';
import { makeProject, REPO, type Project } from '../helpers/project.ts';
import { sleep, summary, until } from './lib.ts';

const KILLS = Number(process.env.CHESHIRE_HOSTILE_KILLS ?? 20);
const SEED = Number(process.env.CHESHIRE_HOSTILE_SEED ?? 0xc0ffee);
const TSX = import.meta.resolve('tsx');
const MAIN = join(REPO, 'core/cli/main.ts');
/** Temp files of writeFileAtomic: `.<name>.<pid>.<12 hex>.tmp`. */
const TEMP = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;
const web = 'export function start(ctx: any) { return { n: ctx.config.n }; }\n';

let project: Project;
let port = 0;
const children: ChildProcess[] = [];

test.before(async () => {
  port = await freePort();
  project = await makeProject({
    modules: { web: { index: web, cheshire: { config: { schema: { type: 'object', additionalProperties: false, properties: { n: { type: 'integer' } } }, defaults: { n: 0 } } } } },
    copy: ['styx-root'], role: ['styx-root', 'web'],
    config: { modules: { 'styx-root': { listen: `127.0.0.1:${port}` } } },
  });
});

test.after(async () => {
  for (const c of children) killGroup(c);
  await project?.cleanup();
});

/** SIGKILL to the child's process group (the node and the esbuild service it started). */
function killGroup(c: ChildProcess): void {
  if (c.exitCode !== null || c.signalCode !== null) return;
  try { process.kill(-c.pid!, 'SIGKILL'); } catch { c.kill('SIGKILL'); }
}

interface Node { child: ChildProcess; output: () => string; exited: Promise<number | string> }

function startNode(): Node {
  const child = spawn(process.execPath, ['--import', TSX, MAIN, 'start', '--config', project.configFile], {
    cwd: project.dir, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? '?')));
  return { child, output: () => out.slice(-2000), exited };
}

async function client(): Promise<Client> {
  const c = await Client.connect({ port, version: '9P2000.u', timeoutMs: 2000 });
  try {
    await c.attach({ uname: 'hostile' });
  } catch (err) {
    await c.close();
    throw err;
  }
  return c;
}

/** Waits until the node answers 9P with web active; the client it used is returned. */
async function serving(n: Node): Promise<Client> {
  let last = '';
  const end = Date.now() + 45_000;
  for (;;) {
    if (n.child.exitCode !== null) throw new Error(`the node exited (${n.child.exitCode}) before serving: ${n.output()}`);
    try {
      const c = await client();
      const status = (await c.readFile('/status')).toString();
      if (/^web active/m.test(status) && !/FAILSAFE/.test(status)) return c;
      last = status;
      await c.close();
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > end) throw new Error(`the node did not serve web within 45 s (last: ${last}); output: ${n.output()}`);
    await sleep(50);
  }
}

/** Temp files of writers that are not alive, anywhere in the project (modules/ aside). */
function debris(): string[] {
  const found: string[] = [];
  const walk = (d: string, depth: number): void => {
    let names: string[];
    try { names = readdirSync(d); } catch { return; }
    for (const name of names) {
      const p = join(d, name);
      let st;
      try { st = statSync(p); } catch { continue; }
      if (st.isDirectory()) { if (depth > 0 && name !== 'modules' && name !== 'node_modules') walk(p, depth - 1); continue; }
      const m = TEMP.exec(name);
      if (m && !pidAlive(Number(m[1]))) found.push(p);
    }
  };
  walk(project.dir, 5);
  return found;
}

/** A process's resident set, in MiB (0 once it is gone). */
function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}


/** One config document written on a fresh fid; resolves once the node acknowledged it. */
async function writeConfig(c: Client, n: number): Promise<void> {
  const fid = await c.walkPath('/modules/web/config');
  try {
    await c.open(fid, 'w');
    await c.write(fid, 0, Buffer.from(`{"n": ${n}}\n`));
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
}

/** The node's running value, cheshire.json's, and the newest revision's, read fresh. */
async function values(c: Client): Promise<{ running: unknown; file: unknown; revision: unknown; revisions: number }> {
  const running = (JSON.parse((await c.readFile('/modules/web/config')).toString()) as { n?: unknown }).n;
  const text = readFileSync(project.configFile, 'utf8');
  let raw: { modules?: Record<string, { n?: unknown }> };
  try {
    raw = JSON.parse(text) as typeof raw;
  } catch (err) {
    throw new Error(`cheshire.json does not parse after a kill: ${(err as Error).message}: ${JSON.stringify(text.slice(0, 200))}`);
  }
  const list = await new RevisionStore(join(project.dir, '.cheshire', 'revisions')).list('web');
  return { running, file: raw.modules?.web?.n ?? 0, revision: list.at(-1)?.config.n, revisions: list.length };
}

/** A second start in the same folder: refused, naming the running node; status.json and the lock untouched. */
async function secondStart(running: Node): Promise<string[]> {
  const failures: string[] = [];
  const statusFile = join(project.dir, '.cheshire', 'status.json');
  const lockFile = join(project.dir, '.cheshire', 'node.lock');
  await until('status.json to be written', () => existsSync(statusFile), 5000);
  await sleep(100); // the status mirror coalesces for 25 ms
  const before = { status: readFileSync(statusFile), statusMtime: statSync(statusFile).mtimeMs, lock: readFileSync(lockFile) };
  const r = await cheshire(['start', '--config', project.configFile], { cwd: project.dir, timeoutMs: 30_000 });
  if (r.code !== 1 || !/CHS_ERR_ALREADY_RUNNING: already running \(pid \d+/.test(r.stderr) || !r.stderr.includes(`pid ${running.child.pid}`)) {
    failures.push(`second start not refused as expected: ${show(r)}`);
  }
  if (!readFileSync(statusFile).equals(before.status) || statSync(statusFile).mtimeMs !== before.statusMtime) failures.push('status.json was touched');
  if (!readFileSync(lockFile).equals(before.lock)) failures.push('node.lock was touched');
  const c = await client().catch((e: Error) => { failures.push(`the running node stopped serving: ${e.message}`); return undefined; });
  if (c) {
    const status = (await c.readFile('/status')).toString();
    if (!/^web active/m.test(status) || !status.includes(`pid ${running.child.pid}`)) failures.push(`the running node's status: ${status}`);
    await c.close();
  }
  return failures;
}

test(`${KILLS} kill -9s during config writes: every acknowledged write survives, no debris, the next start works`, async () => {
  const rand = prng(SEED);
  console.log(`kill9-config: ${KILLS} kills, seed ${SEED}`);
  const failures: string[] = [];
  let lastAcked = 0;
  let lastSent = 0;
  let acked = 0;
  let debrisLeft = 0;
  let maxRssGrowthMb = 0;
  let secondStarts = 0;
  const startMs: number[] = [];
  let n: Node | undefined;
  try {
    for (let round = 0; round <= KILLS; round++) {
      const leftBehind = debris();
      debrisLeft += leftBehind.length;
      const t0 = Date.now();
      n = startNode();
      const c = await serving(n);
      startMs.push(Date.now() - t0);
      const rssAtStart = rssMb(n.child.pid!);
      // Agreement after the restart.
      const v = await values(c);
      if (!(v.running === v.file && v.file === v.revision)) failures.push(`round ${round}: running ${v.running}, cheshire.json ${v.file}, revision ${v.revision}`);
      if (typeof v.file !== 'number' || v.file < lastAcked || v.file > lastSent) failures.push(`round ${round}: value ${v.file} outside [last acknowledged ${lastAcked}, last sent ${lastSent}]`);
      const stale = debris();
      if (stale.length) failures.push(`round ${round}: temp files of dead writers after the start: ${stale.join(', ')}`);
      if (typeof v.file === 'number') lastAcked = lastSent = v.file; // what the node now holds
      if (round === 0 || round === KILLS) {
        secondStarts++;
        failures.push(...(await secondStart(n)).map((f) => `round ${round}: ${f}`));
      }
      if (round === KILLS) {
        await c.close();
        break;
      }
      // Write until killed.
      const killAt = 100 + Math.floor(rand() * 350);
      let killed = false;
      const writer = (async () => {
        for (let i = 0; i < 100_000 && !killed; i++) {
          const k = lastSent + 1;
          lastSent = k;
          try {
            await writeConfig(c, k);
            if (killed) break; // an answer racing the kill proves nothing either way: leave it unacknowledged
            lastAcked = k;
            acked++;
          } catch (err) {
            if (!killed && err instanceof RemoteError) failures.push(`round ${round}: write ${k} refused: ${err.message}`);
            break;
          }
        }
      })();
      await sleep(killAt);
      maxRssGrowthMb = Math.max(maxRssGrowthMb, rssMb(n.child.pid!) - rssAtStart);
      killed = true;
      killGroup(n.child);
      await n.exited;
      await writer;
      await c.close();
    }
    // The last node stops cleanly.
    n!.child.kill('SIGTERM');
    const code = await withDeadline(n!.exited, 15_000, 'the node to exit after SIGTERM').catch((e: Error) => e.message);
    if (code !== 0) failures.push(`SIGTERM: exit ${code}: ${n!.output()}`);
  } finally {
    for (const c of children) killGroup(c);
  }
  assert.equal(failures.slice(0, 10), [], `${failures.length} failures`);
  assert.ok(acked >= KILLS, `writes were acknowledged between the kills (${acked})`);
  assert.is(debris().length, 0, 'no temp debris at the end');
  summary('kill -9 during config writes', {
    trials: KILLS, failures: failures.length, acknowledgedWrites: acked, debrisLeftByKills: debrisLeft, secondStartsRefused: secondStarts,
    maxRssGrowthMb, medianStartMs: startMs.sort((a, b) => a - b)[startMs.length >> 1] ?? 0,
  });
});

test.run();
