// Runs inside a network namespace of its own (see dev-role.test.ts): starts the README's node —
// `cheshire start`, role dev, every module on its default loopback port — as a real process, then
// checks what a newcomer would: every instance active and healthy (/healthz), hello answers, and
// the dashboard in Debian's chromium draws every instance and edge of the role. Prints one JSON
// line with what it saw; stops the node with SIGTERM and reports how it exited.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch, request, shot, synced, waitFor, REPO } from '../../modules/dashboard/test/helpers.ts';
import type { NodeStatus } from '../../core/types.ts';

const TSX = import.meta.resolve('tsx');
const dir = await mkdtemp(join(tmpdir(), 'chs-devrole-'));
// The repository's modules and role; its docs folder for styx-provider#docs; own state and no type checker.
await symlink(join(REPO, 'docs'), join(dir, 'docs'));
await writeFile(join(dir, 'cheshire.json'), JSON.stringify({ node: 'dev', role: 'dev', moduleDirs: [join(REPO, 'modules')], stateDir: '.cheshire', typecheck: { enabled: false }, modules: {} }));
const node = spawn(process.execPath, ['--import', TSX, join(REPO, 'core/cli/main.ts'), 'start', '--config', join(dir, 'cheshire.json')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
let log = '';
node.stdout!.on('data', (d) => { log += d; });
node.stderr!.on('data', (d) => { log += d; });
const exited = new Promise<number | null>((resolve) => node.on('exit', (code) => resolve(code)));
const result: Record<string, unknown> = {};
const pages = await launch().catch((err: Error) => { result.browserError = err.message; return null; });
try {
  const healthz = await waitFor('/healthz to answer 200 (every instance active and healthy)', async () => {
    const r = await request('http://127.0.0.1:7070/healthz').catch(() => null);
    return r?.status === 200 ? r : undefined;
  }, 90_000, 250);
  result.healthz = JSON.parse(healthz.body);
  result.hello = (await request('http://127.0.0.1:8080/')).body;
  // The node's own status, as it mirrors it for `cheshire status --local` (written a moment after
  // a change; the dashboard answers /healthz from inside its own start, before it is active).
  const readStatus = async () => JSON.parse(await readFile(join(dir, '.cheshire/status.json'), 'utf8')) as NodeStatus;
  const status = await waitFor('every instance active in status.json', async () => {
    const st = await readStatus().catch(() => null);
    return st && st.instances.length > 0 && st.instances.every((i) => i.state === 'active') ? st : undefined;
  }, 30_000, 100).catch(() => readStatus());
  if (pages) {
    const page = await pages.open('http://127.0.0.1:7070/');
    await synced(page);
    const instances = status.instances;
    const nodes: Record<string, number> = {};
    const edges: Record<string, string> = {};
    for (const i of instances) {
      nodes[i.id] = await page.locator(`svg.graph [data-node="${i.id}"]`).count();
      for (const r of i.requires) for (const to of r.boundTo) edges[`${i.id}->${to}`] = (await page.locator(`svg.graph [data-edge="${i.id}->${to}"]`).textContent({ timeout: 2_000 }).catch(() => null)) ?? 'MISSING';
    }
    result.graph = { nodes, edges, requires: instances.flatMap((i) => i.requires.map((r) => ({ from: i.id, policy: r.policy, cardinality: r.cardinality, boundTo: r.boundTo }))) };
    result.screenshot = await shot(page, 'dev-role');
    result.consoleErrors = pages.errors;
  }
  result.instances = status.instances.map((i) => `${i.id}:${i.state}`);
} catch (err) {
  result.error = (err as Error).message;
} finally {
  await pages?.close();
  node.kill('SIGTERM');
  const timer = setTimeout(() => node.kill('SIGKILL'), 30_000);
  result.exit = await exited;
  clearTimeout(timer);
  result.log = log.split('\n').filter((l) => / (ERROR|WARN) /.test(l)).slice(0, 20);
  result.stopped = /host stopped/.test(log);
  await rm(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
