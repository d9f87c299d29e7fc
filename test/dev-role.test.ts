// The README's first command, whole: the default module set (role dev) started as `cheshire start`
// does, every module on its default loopback port, inside a network namespace of its own
// (`unshare -n`: its own loopback, so the default ports meet no other node and nothing leaves).
// Every instance comes up active and healthy, hello answers, the dashboard draws every instance
// and every edge of the role in chromium with no console error, and SIGTERM stops it cleanly.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO } from './helpers/project.ts';

const TSX = import.meta.resolve('tsx');

interface Seen {
  error?: string;
  browserError?: string;
  healthz?: { ok: boolean; instances: Array<{ id: string; ok: boolean }> };
  hello?: string;
  instances?: string[];
  graph?: { nodes: Record<string, number>; edges: Record<string, string>; requires: Array<{ from: string; policy: string; cardinality: string; boundTo: string[] }> };
  consoleErrors?: string[];
  exit?: number | null;
  stopped?: boolean;
  log?: string[];
}

function probe(): Promise<{ seen: Seen; raw: string }> {
  return new Promise((resolve, reject) => {
    const script = `ip link set lo up && exec ${JSON.stringify(process.execPath)} --import ${JSON.stringify(TSX)} ${JSON.stringify(join(REPO, 'test/dev-role/probe.ts'))}`;
    // As root a network namespace alone; otherwise inside a user namespace of our own (-r), which
    // an unprivileged user may make where the kernel allows user namespaces.
    const ns = process.getuid?.() === 0 ? ['-n'] : ['-r', '-n'];
    const child = spawn('unshare', [...ns, 'sh', '-c', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, 180_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve({ seen: JSON.parse(line) as Seen, raw: out + err });
      } catch {
        reject(new Error(`the probe printed no result (exit ${code}):\n${(out + err).slice(-3000)}`));
      }
    });
  });
}

test('npm start\'s module set: all active and healthy, hello answers, the dashboard draws the whole role, SIGTERM stops it', async () => {
  const { seen, raw } = await probe();
  const why = `${seen.error ?? ''}\n${(seen.log ?? []).join('\n')}\n${raw.slice(-1500)}`;
  assert.not.ok(seen.error, why);
  assert.not.ok(seen.browserError, why);
  assert.is(seen.healthz?.ok, true, why);
  assert.equal(seen.instances?.filter((i) => !i.endsWith(':active')), [], 'every instance active');
  assert.ok((seen.instances?.length ?? 0) >= 13, `the dev role's instances: ${seen.instances}`);
  assert.is(seen.hello, 'Hello from Cheshire\n');
  const g = seen.graph!;
  for (const [id, count] of Object.entries(g.nodes)) assert.is(count, 1, `graph box for ${id}`);
  assert.is(Object.keys(g.nodes).length, seen.instances!.length);
  for (const r of g.requires) {
    for (const to of r.boundTo) assert.match(g.edges[`${r.from}->${to}`] ?? 'MISSING', `${r.policy} ${r.cardinality}`, `edge ${r.from} -> ${to}`);
  }
  assert.ok(Object.keys(g.edges).length >= 8, `the role's edges: ${Object.keys(g.edges)}`);
  assert.equal(seen.consoleErrors, []);
  assert.is(seen.exit, 0, why);
  assert.is(seen.stopped, true);
});

test.run();
