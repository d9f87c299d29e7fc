// `cheshire start` as a real process: a second start in the same folder is refused up front
// (naming the running node's pid and 9P address, touching nothing), `cheshire stop` stops the
// node gracefully over 9P and waits for it, SIGTERM stops it cleanly, and a node launched through
// npm/npx stops when its launcher is killed. Every node is killed in an after hook if still up.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../base/free-port.ts';
import { pidAlive } from '../../base/pid.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { makeProject, REPO, waitFor, type Project } from '../helpers/project.ts';

const TSX = import.meta.resolve('tsx');
const MAIN = join(REPO, 'core/cli/main.ts');

interface Started { child: ChildProcess; output: () => string; exited: Promise<number | null>; pid: number }
const children: ChildProcess[] = [];
const projects: Project[] = [];

test.after.each(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const p of projects.splice(0)) await p.cleanup();
});

async function project(): Promise<{ p: Project; listen: string }> {
  const listen = `127.0.0.1:${await freePort()}`;
  const p = await makeProject({ modules: {}, copy: ['styx-root'], role: ['styx-root'], config: { modules: { 'styx-root': { listen } } } });
  projects.push(p);
  return { p, listen };
}

function spawnNode(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, FORCE_COLOR: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited, pid: child.pid! };
}

const startArgs = (p: Project) => ['--import', TSX, MAIN, 'start', '--config', p.configFile];

async function running(p: Project, listen: string): Promise<void> {
  await waitFor('the node to serve 9P', async () => (await cheshire(['status', '--node', listen])).code === 0, 30_000, 200);
  await waitFor('status.json', () => existsSync(join(p.dir, '.cheshire/status.json')), 5_000, 50);
}


test('a second start in the same folder is refused, naming the node; cheshire stop stops the first', async () => {
  const { p, listen } = await project();
  const first = spawnNode(process.execPath, startArgs(p), p.dir);
  await running(p, listen);
  const statusBefore = JSON.parse(await readFile(join(p.dir, '.cheshire/status.json'), 'utf8')) as { pid: number };
  assert.is(statusBefore.pid, first.pid);

  const second = await cheshire(['start', '--config', p.configFile], { cwd: p.dir, timeoutMs: 30_000 });
  assert.is(second.code, 1, show(second));
  assert.match(second.stderr, /CHS_ERR_ALREADY_RUNNING: already running \(pid \d+, node test, 9P on 127\.0\.0\.1:\d+/);
  assert.ok(second.stderr.includes(`pid ${first.pid}`), second.stderr);
  assert.ok(second.stderr.includes(listen), second.stderr);
  const statusAfter = JSON.parse(await readFile(join(p.dir, '.cheshire/status.json'), 'utf8')) as { pid: number };
  assert.is(statusAfter.pid, first.pid, 'status.json still describes the running node');
  assert.ok((await cheshire(['status', '--local', '--config', p.configFile], { cwd: p.dir })).code === 0, 'status --local calls it running');

  const stop = await cheshire(['stop', '--node', listen], { timeoutMs: 60_000 });
  assert.is(stop.code, 0, show(stop));
  assert.match(stop.stdout, new RegExp(`stopping node test \\(pid ${first.pid}\\)\\nstopped \\(pid ${first.pid} exited\\)`));
  assert.is(await first.exited, 0, first.output());
  assert.match(first.output(), /host stopped/);
  assert.not.ok(existsSync(join(p.dir, '.cheshire/node.lock')), 'the lock is released');
});

test('a --role typo exits 1 listing the roles, touching nothing', async () => {
  const { p } = await project();
  const r = await cheshire(['start', '--role', 'tset', '--config', p.configFile], { cwd: p.dir, timeoutMs: 30_000 });
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /CHS_ERR_ROLE_NOT_FOUND: --role tset: no such role; the roles are: .*\btest\b/);
  assert.match(r.stderr, /\bdev\b/, 'Cheshire\'s own roles are listed too');
  assert.not.ok(existsSync(join(p.dir, '.cheshire')), 'no state dir, no lock, no status written');
});

test('a lock left by a killed node is taken over; SIGTERM stops the node cleanly', async () => {
  const { p, listen } = await project();
  const first = spawnNode(process.execPath, startArgs(p), p.dir);
  await running(p, listen);
  first.child.kill('SIGKILL');
  await first.exited;
  assert.ok(existsSync(join(p.dir, '.cheshire/node.lock')), 'kill -9 leaves the lock behind');
  const second = spawnNode(process.execPath, startArgs(p), p.dir);
  await running(p, listen);
  second.child.kill('SIGTERM');
  assert.is(await second.exited, 0, second.output());
  assert.match(second.output(), /SIGTERM: stopping/);
  assert.not.ok(existsSync(join(p.dir, '.cheshire/node.lock')));
});

test('a node launched through npm stops when its launcher is killed', async () => {
  const { p, listen } = await project();
  // As npm/npx run it: a shell in between (`; true` keeps sh from exec-ing node), npm's env.
  const line = [process.execPath, ...startArgs(p)].map((a) => `'${a}'`).join(' ');
  const launcher = spawnNode('sh', ['-c', `${line}; true`], p.dir, { npm_command: 'exec' });
  await running(p, listen);
  const st = JSON.parse(await readFile(join(p.dir, '.cheshire/status.json'), 'utf8')) as { pid: number };
  assert.is.not(st.pid, launcher.pid, 'the node runs as the launcher\'s child');
  launcher.child.kill('SIGKILL');
  await launcher.exited;
  await waitFor('the orphaned node to stop', () => !pidAlive(st.pid), 20_000, 100);
  assert.not.ok(existsSync(join(p.dir, '.cheshire/node.lock')), 'it stopped cleanly (lock released)');
});

test.run();
