// Reloading styx-root itself keeps established 9P connections: the server and a stable root are
// handed to the new version, so the root fid stays valid and new walks from it reach the new
// tree on the same connection, while fids deep in the old tree get ESTALE.
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { ESTALE } from '../../fs/codec/constants.ts';
import { RemoteError } from '../../fs/errors.ts';
import { waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { rejection, startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

let node: StyxNode;
let th: TestHost;
let project: Project;

test.before(async () => {
  node = await startStyxNode({ copy: ['hello', 'greeter'], role: ['hello'], config: { hello: { port: 0 } } });
  ({ th, project } = node);
});

test.after(async () => {
  await node?.close();
});

const connect = (version: Dialect) => node.connect(version);
const styx = () => th.host.instances.get('styx-root')!;
const connections = () => (styx().run!.service as { connections(): number }).connections();

interface Held { c: Client; root: number; file: number; dir: number; log: number; blocked: Promise<unknown> }

/** A connection with fids deep in the current tree: an open file, a directory, a blocked log read. */
async function hold(dialect: Dialect): Promise<Held> {
  const c = await connect(dialect);
  const root = c.root!;
  const file = await c.walkPath('/modules/hello/status');
  await c.open(file, 'r');
  assert.match(Buffer.from(await c.read(file, 0n, 4096)).toString('utf8'), /^id: hello$/m);
  const dir = await c.walkPath('/modules');
  const log = await c.walkPath('/modules/hello/log.follow');
  await c.open(log, 'r');
  let at = 0n;
  for (let data = await c.read(log, at, c.iounit); data.length; data = await c.read(log, at, c.iounit)) at += BigInt(data.length); // the history, then the 0 after it
  const blocked = c.read(log, at, c.iounit).then(() => 'resolved', (err: unknown) => err);
  return { c, root, file, dir, log, blocked };
}

async function checkAfterReload(h: Held, reloads: number): Promise<void> {
  const { c } = h;
  assert.not.ok(c.isClosed, `${c.dialect}: the connection survived`);
  // the root fid is still valid: stat it, walk from it, read /status through a new walk
  const st = await c.entry(h.root, '/');
  assert.ok(st.isDir, 'root fid answers stat');
  const w = await c.walk(h.root, ['status']);
  await c.clunk(w.fid);
  const status = await text(c, '/status');
  assert.match(status, new RegExp(`^styx-root active \\S+ up \\S+ restarts 0 reloads ${reloads}$`, 'm'), status);
  assert.match(await text(c, '/modules/hello/status'), /^state: active$/m);
  // fids deep in the old tree are stale
  const e1 = await rejection(c.read(h.file, 0n, 4096), `${c.dialect}: read on an old open file`);
  assert.is(e1.errno, ESTALE);
  const e2 = await rejection(c.walk(h.dir, ['hello']), `${c.dialect}: walk from an old directory`);
  assert.is(e2.errno, ESTALE);
  if (c.dialect !== '9P2000.L') assert.is(e1.ename, 'file has been removed');
  const ended = await h.blocked;
  assert.instance(ended, RemoteError, `${c.dialect}: a log read blocked across the reload ends with an error, got ${String(ended)}`);
  assert.is((ended as RemoteError).errno, ESTALE);
  for (const f of [h.file, h.dir, h.log]) await c.clunk(f).catch(() => undefined);
}

test('writing styx-root\'s index.ts reloads it without dropping the established connections', async () => {
  const held = [await hold('9P2000.L'), await hold('9P2000.u')];
  const before = connections();
  assert.is(before, 2);
  const src = await readFile(project.modulePath('styx-root'), 'utf8');
  const reloads = styx().reloads;
  await project.write('modules/styx-root/index.ts', `${src}\nexport const editedBy = "reload.test.ts";\n`);
  await waitFor('styx-root reloaded by its file change', () => styx().reloads === reloads + 1 && styx().state === 'active');
  assert.is(connections(), before, 'the new version serves the same connections');
  for (const h of held) await checkAfterReload(h, reloads + 1);
  assert.is(connections(), before, 'no reconnection happened');
  for (const h of held) await h.c.close();
});

test('host.reload("styx-root") keeps a connection working too, and new connections are served', async () => {
  const h = await hold('9P2000.u');
  const reloads = styx().reloads;
  await th.host.reload('styx-root');
  assert.is(styx().reloads, reloads + 1);
  await checkAfterReload(h, reloads + 1);
  const fresh = await connect('9P2000.L');
  assert.match(await text(fresh, '/status'), /^hello active/m);
  await Promise.all([h.c.close(), fresh.close()]);
});

test('"reload styx-root" written to its own /ctl: answered at once on the same fid, then carried out; the connection keeps working', async () => {
  // What `cheshire reload styx-root` does (ctlCommand): write the command, read the answer back.
  const c = await connect('9P2000.u');
  const reloads = styx().reloads;
  const fid = await c.walkPath('/ctl');
  let answer: string | Error;
  try {
    await c.open(fid, 'rw');
    assert.is(await c.write(fid, 0n, Buffer.from('reload styx-root\n')), 'reload styx-root\n'.length);
    answer = await c.read(fid, 0n, 4096).then((d) => Buffer.from(d).toString('utf8'), (err: Error) => err);
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
  assert.is(answer instanceof Error ? `error: ${answer.message}` : answer, 'reloading styx-root: this tree is replaced; walk again from the root\n', 'the answer is readable');
  await waitFor('styx-root to be reloaded', () => styx().reloads === reloads + 1 && styx().state === 'active');
  assert.not.ok(c.isClosed);
  assert.match(await text(c, '/status'), new RegExp(`^styx-root active \\S+ up \\S+ restarts 0 reloads ${reloads + 1}$`, 'm'));
  await c.close();
});

test.run();
