// A teardown that hangs never strands what comes after it: the step overruns the module's stopMs,
// the later steps still run and what they own is released by force (the listening port is free,
// open connections are destroyed), the error names the module and the step, and a module on a
// fixed port survives crash after crash and reload after reload with no fd growth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import net from 'node:net';
import { freePort } from '../helpers/diod.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { fdCount } from '../helpers/fds.ts';

const hangingModule = (word: string) => `import net from 'node:net';
export async function start(ctx: any) {
  const server = ctx.own(net.createServer((s) => s.end('${word}\\n')));
  await new Promise((r) => server.listen(ctx.config.port, '127.0.0.1', r));
  ctx.onStop(function hang() { return new Promise(() => {}); });
  return { crash: () => setTimeout(() => { throw new Error('boom'); }, 0) };
}
`;

let project: Project;
let th: TestHost;
let port: number;

test.before(async () => {
  port = await freePort();
  project = await makeProject({
    modules: { fixed: { cheshire: { provides: ['fixed'], timeouts: { stopMs: 150 } }, index: hangingModule('one') } },
    role: ['fixed'],
    config: { modules: { fixed: { port } }, supervisor: { maxRestarts: 1000, windowMs: 60_000, backoffMs: 1, backoffMaxMs: 5 } },
  });
  th = await startHost(project);
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const fds = fdCount;
const inst = () => th.host.instances.get('fixed')!;

function answer(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d) => { text += d; });
    s.on('end', () => resolve(text.trim()));
    s.on('error', reject);
    s.setTimeout(2_000, () => { s.destroy(); reject(new Error('no answer within 2 s')); });
  });
}

test('a crash whose teardown hangs: the error names the step, the port is freed, the restart listens again', async () => {
  assert.is(await answer(), 'one');
  const restarts = inst().restarts;
  (inst().run!.service as { crash(): void }).crash();
  await waitFor('the stop-timeout error', () => inst().lastError?.code === 'CHS_ERR_STOP_TIMEOUT' || th.logs.some((r) => /teardown step onStop #1 \(hang\)/.test(r.msg + (r.err?.message ?? ''))));
  await waitFor('the restart to listen', async () => inst().restarts > restarts && inst().state === 'active' && (await answer().catch(() => '')) === 'one', 5_000, 20);
  const logged = th.logs.find((r) => /teardown step onStop #1 \(hang\) did not settle within 150 ms/.test(`${r.msg} ${r.err?.message ?? ''}`));
  assert.ok(logged, 'the log names the module, the step and the deadline');
  assert.match(`${logged!.msg} ${logged!.err?.message ?? ''}`, /fixed/);
});

test('an open connection to the owned server is destroyed when the release is forced', async () => {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  s.on('error', () => undefined);
  s.resume();
  (inst().run!.service as { crash(): void }).crash();
  await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error('the held connection was not closed within 3 s')), 3_000))]);
});

test('30 crash/restart cycles and 10 reloads on the fixed port: every one listens again, no fd growth', async () => {
  await waitFor('active', () => inst().state === 'active' && inst().run);
  const before = fds();
  for (let i = 0; i < 30; i++) {
    const restarts = inst().restarts;
    (inst().run!.service as { crash(): void }).crash();
    await waitFor(`restart ${i + 1}`, () => inst().restarts > restarts && inst().state === 'active' && inst().run, 5_000, 5);
  }
  for (let i = 0; i < 10; i++) {
    await project.write('modules/fixed/index.ts', hangingModule(`v${i}`));
    await waitFor(`reload ${i + 1} to answer`, async () => inst().state === 'active' && (await answer().catch(() => '')) === `v${i}`, 5_000, 20);
  }
  assert.is(await answer(), 'v9');
  const after = fds();
  assert.ok(after - before <= 5, `fds grew from ${before} to ${after} over 40 hung teardowns`);
});

test.run();
