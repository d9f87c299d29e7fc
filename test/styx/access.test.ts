// styx-root's access policy: a non-loopback listen without a policy is refused at start
// (CHS_ERR_ACCESS_POLICY naming the instance); an allow-list refuses other addresses at attach;
// a shared secret proven through Tauth (core/cli/node-client.ts connectNode) admits a client
// the allow-list would refuse, and a wrong or missing secret is refused with a clear text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connectNode } from '../../core/cli/node-client.ts';
import { Client } from '../../fs/client/client.ts';
import { EACCES } from '../../fs/codec/constants.ts';
import { RemoteError } from '../../fs/errors.ts';
import { freePort } from '../helpers/diod.ts';
import { scope, until } from '../helpers/extra.ts';
import { waitFor, type TestHost } from '../helpers/project.ts';

const s = scope();
const SECRET = 'correct horse battery staple';

test.after.each(() => s.cleanup());

/** A node running styx-root (and hello/greeter) with the given styx-root config. */
async function node(styx: Record<string, unknown>, required: string[] = []): Promise<TestHost> {
  const project = await s.project({
    modules: {},
    copy: ['styx-root', 'hello', 'greeter'],
    role: ['styx-root', 'hello'],
    required,
    config: { modules: { 'styx-root': styx, hello: { port: 0 } } },
  });
  return s.host(project);
}

async function rejection(p: Promise<unknown>, what: string): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.unreachable(`${what}: expected an error, it succeeded`);
  throw new Error('unreachable');
}

/** True when a TCP connect to the port is refused (nothing listens). */
async function refused(port: number): Promise<boolean> {
  const err = await Client.connect({ port, timeoutMs: 2000 }).then(async (c) => { await c.close(); return undefined; }, (e: Error) => e);
  return !!err && /ECONNREFUSED/.test(err.message);
}

test('listening on 0.0.0.0 without allow or secret: styx-root refuses to start with CHS_ERR_ACCESS_POLICY naming it', async () => {
  const port = await freePort();
  const th = await node({ listen: `0.0.0.0:${port}` });
  const styx = th.host.instances.get('styx-root')!;
  // start(ctx) threw CHS_ERR_ACCESS_POLICY; the host records it inside its start failure
  // (lastError.code is the host's CHS_ERR_MODULE_START, the message carries the module's own error).
  const err = await until('styx-root to record its start error', () => styx.lastError);
  assert.match(err.message, /CHS_ERR_ACCESS_POLICY: styx-root: listening on 0\.0\.0\.0 \(not loopback\) needs an access policy/, err.message);
  assert.match(err.message, /"allow"/);
  assert.match(err.message, /"secret"/);
  assert.is.not(styx.state, 'active');
  assert.is(th.host.instances.get('hello')!.state, 'active', 'the other modules run');
  assert.ok(await refused(port), 'nothing listens on the port');
  await waitFor('styx-root to give up', () => styx.state === 'failed');
  assert.match(styx.lastError!.message, /CHS_ERR_ACCESS_POLICY/);
});

test('the same, with styx-root required: the node enters failsafe with CHS_ERR_ACCESS_POLICY', async () => {
  const port = await freePort();
  const th = await node({ listen: `0.0.0.0:${port}` }, ['styx-root']);
  const failsafe = await until('failsafe', () => th.host.failsafe);
  assert.match(failsafe.message, /required instance styx-root did not start/, failsafe.message);
  assert.match(failsafe.message, /CHS_ERR_ACCESS_POLICY: styx-root: listening on 0\.0\.0\.0/);
});

test('allow: ["10.9.9.9"] on loopback: a loopback client is refused at attach with the address named', async () => {
  const port = await freePort();
  const th = await node({ listen: `127.0.0.1:${port}`, allow: ['10.9.9.9'] });
  assert.is(th.host.instances.get('styx-root')!.state, 'active', th.host.instances.get('styx-root')!.lastError?.message);
  // our CLI's connection (9P2000.u): the text arrives
  const err = await rejection(connectNode(`127.0.0.1:${port}`), 'connectNode');
  assert.instance(err, RemoteError);
  assert.is((err as RemoteError).request, 'Tattach');
  assert.is((err as RemoteError).ename, 'address 127.0.0.1 not allowed');
  // 9P2000.L: EACCES; the connection itself was accepted (Tversion answered), only the attach refused
  const c = await Client.connect({ port, version: '9P2000.L', timeoutMs: 3000 });
  try {
    const e = await rejection(c.attach({}), '.L attach');
    assert.instance(e, RemoteError);
    assert.is((e as RemoteError).errno, EACCES);
  } finally {
    await c.close();
  }
});

test('allow: CIDR including loopback admits the loopback client', async () => {
  const port = await freePort();
  await node({ listen: `127.0.0.1:${port}`, allow: ['10.9.9.9', '127.0.0.0/8'] });
  const c = await connectNode(`127.0.0.1:${port}`);
  try {
    assert.match((await c.readFile('/status')).toString('utf8'), /^hello active/m);
  } finally {
    await c.close();
  }
});

test('secret + allow: ["10.9.9.9"] on loopback: the right secret admits, a wrong one and none are refused', async () => {
  const port = await freePort();
  await node({ listen: `127.0.0.1:${port}`, allow: ['10.9.9.9'], secret: SECRET });
  const addr = `127.0.0.1:${port}`;
  for (const version of ['9P2000.u', '9P2000.L'] as const) {
    const c = await connectNode(addr, { secret: SECRET, version });
    try {
      assert.match((await c.readFile('/status')).toString('utf8'), /^styx-root active/m, version);
    } finally {
      await c.close();
    }
  }
  const wrong = await rejection(connectNode(addr, { secret: 'not the right secret at all' }), 'wrong secret');
  assert.instance(wrong, RemoteError);
  assert.match((wrong as RemoteError).ename, /authentication failed/);
  const none = await rejection(connectNode(addr), 'no secret');
  assert.instance(none, RemoteError);
  assert.match((none as RemoteError).ename, /authentication required/);
  const wrongL = await rejection(connectNode(addr, { secret: 'not the right secret at all', version: '9P2000.L' }), 'wrong secret (.L)');
  assert.is((wrongL as RemoteError).errno, EACCES);
});

test('a secret alone makes a non-loopback listen acceptable; loopback clients then need it too', async () => {
  const port = await freePort();
  const th = await node({ listen: `0.0.0.0:${port}`, secret: SECRET });
  assert.is(th.host.instances.get('styx-root')!.state, 'active', th.host.instances.get('styx-root')!.lastError?.message);
  const c = await connectNode(`127.0.0.1:${port}`, { secret: SECRET });
  try {
    assert.match((await c.readFile('/modules/hello/status')).toString('utf8'), /^state: active$/m);
  } finally {
    await c.close();
  }
  const none = await rejection(connectNode(`127.0.0.1:${port}`), 'no secret');
  assert.match((none as RemoteError).ename ?? none.message, /authentication required/);
});

test('a secret shorter than 16 characters is refused by the schema', async () => {
  const port = await freePort();
  const th = await node({ listen: `127.0.0.1:${port}`, secret: 'short' });
  const styx = th.host.instances.get('styx-root');
  // refused before any code runs: the node's config is invalid for styx-root
  const why = th.host.failsafe?.message ?? styx?.lastError?.message ?? '';
  assert.match(why, /secret/, why || 'no error recorded');
  assert.ok(await refused(port), 'nothing listens on the port');
});

test.run();
