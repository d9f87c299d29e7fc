// styx-client grafts another node's tree at /net/NAME: walking into it reaches the remote node;
// a name nobody exports is "file does not exist"; when the remote goes away the graft shows as
// disconnected and requests fail with a clear error; when it returns, new walks work again and
// fids from before say they are stale.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ESTALE } from '../../fs/codec/constants.ts';
import { RemoteError } from '../../fs/errors.ts';
import { waitFor } from '../helpers/project.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

let a: StyxNode | undefined;
let b: StyxNode;

const startA = (port?: number) =>
  startStyxNode({ copy: ['hello', 'greeter'], role: ['hello'], config: { hello: { port: 0 } }, port });

test.before(async () => {
  a = await startA();
  b = await startStyxNode({
    copy: ['styx-client'],
    role: ['styx-client'],
    config: { 'styx-client': { imports: [{ name: 'alpha', address: `127.0.0.1:${a.port}` }], reconnect: { minMs: 20, maxMs: 200 } } },
  });
});

test.after(async () => {
  await b?.close();
  await a?.close();
});

test('/net/alpha is node A\'s tree, read through node B', async () => {
  const c = await b.connect('9P2000.L');
  assert.equal((await c.ls('/net')).map((e) => e.name).sort(), ['alpha', 'status']);
  assert.match(await text(c, '/net/alpha/status'), /^hello active /m);
  assert.match(await text(c, '/net/alpha/modules/hello/deps'), /requires greeter@\^1 dynamic/);
  assert.match(await text(c, '/net/status'), /^alpha 127\.0\.0\.1:\d+ connected$/m);
});

test('a name nobody exports is a clean "not found"', async () => {
  const c = await b.connect('9P2000.u');
  try {
    await c.walkPath('/net/nobody');
    assert.unreachable('walk should fail');
  } catch (err) {
    assert.instance(err, RemoteError);
    assert.match((err as RemoteError).ename, /does not exist/);
  }
});

test('the remote goes away: disconnected and clear errors; it returns: new walks work, old fids are stale', async () => {
  const c = await b.connect('9P2000.u');
  const old = await c.walkPath('/net/alpha/modules/hello/status');
  const port = a!.port;
  await a!.close();
  a = undefined;
  await waitFor('the graft to show as disconnected', async () => /^alpha \S+ disconnected/m.test(await text(c, '/net/status')));
  // (A walk through the graft can only say "not found": a partial Rwalk carries no error, so
  // ask the graft's root itself.)
  try {
    await c.statPath('/net/alpha');
    assert.unreachable('stat through a dead graft should fail');
  } catch (err) {
    assert.match((err as RemoteError).ename, /disconnected|unavailable|reset/, (err as Error).message);
  }
  a = await startA(port);
  await waitFor('the graft to reconnect', async () => /^alpha \S+ connected$/m.test(await text(c, '/net/status')), 10_000);
  assert.match(await text(c, '/net/alpha/status'), /^hello active /m);
  try {
    await c.open(old, 'r');
    assert.unreachable('a fid from before the reconnect must be stale');
  } catch (err) {
    assert.is((err as RemoteError).errno, ESTALE);
  }
});

test.run();
