// Subtrees other modules publish with ctx.mount: a module mounting a synthetic tree at /demo/sub
// shows up in the node's tree; when it is reloaded, fids on its old subtree get ESTALE ("file
// has been removed") rather than stale data and a new walk reaches the new content; when it
// stops, /demo goes away (and comes back when it starts again).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { ESTALE } from '../../fs/codec/constants.ts';
import { waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { rejection, startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

const demo = (content: string) => `
import { dir, file, type ModuleContext } from 'cheshire/sdk';

const CONTENT = '${content}';

export function start(ctx: ModuleContext) {
  ctx.mount('/demo/sub', dir('sub', [
    file('version', { read: () => CONTENT + '\\n' }),
    dir('inner', [file('deep', { read: () => 'deep ' + CONTENT + '\\n' })]),
  ]));
  return { content: CONTENT };
}
`;

let node: StyxNode;
let th: TestHost;
let project: Project;

test.before(async () => {
  node = await startStyxNode({ modules: { demo: { index: demo('one') } }, role: ['demo'] });
  ({ th, project } = node);
});

test.after(async () => {
  await node?.close();
});

const connect = (version: Dialect) => node.connect(version);
const names = async (c: Client, path: string) => (await c.ls(path)).map((e) => e.name).sort();

test('a module\'s ctx.mount shows up at /demo/sub in the node tree', async () => {
  for (const dialect of ['9P2000.L', '9P2000.u'] as const) {
    const c = await connect(dialect);
    assert.ok((await names(c, '/')).includes('demo'), '/ lists demo');
    assert.equal(await names(c, '/demo'), ['sub']);
    assert.equal(await names(c, '/demo/sub'), ['inner', 'version']);
    assert.is(await text(c, '/demo/sub/version'), 'one\n');
    assert.is(await text(c, '/demo/sub/inner/deep'), 'deep one\n');
    assert.ok((await c.statPath('/demo/sub')).isDir);
    await c.close();
  }
});

test('after the module is reloaded, fids on its old subtree get ESTALE and new walks see the new content', async () => {
  const L = await connect('9P2000.L');
  const u = await connect('9P2000.u');
  // On each connection: an opened file (read once), a directory fid to walk from, an unopened deep fid.
  const open = async (c: Client) => {
    const file = await c.walkPath('/demo/sub/version');
    await c.open(file, 'r');
    assert.is(Buffer.from(await c.read(file, 0n, 100)).toString('utf8'), 'one\n');
    const sub = await c.walkPath('/demo/sub');
    const deep = await c.walkPath('/demo/sub/inner/deep');
    return { file, sub, deep };
  };
  const fl = await open(L);
  const fu = await open(u);

  const reloads = th.host.instances.get('demo')!.reloads;
  await project.write('modules/demo/index.ts', demo('two'));
  await waitFor('demo reloaded by its file change', () => th.host.instances.get('demo')!.reloads === reloads + 1 && th.host.instances.get('demo')!.state === 'active');
  await waitFor('/demo/sub/version reads the new content', async () => (await text(u, '/demo/sub/version')) === 'two\n');

  // 9P2000.L: errno ESTALE on every old fid
  const r1 = await rejection(L.read(fl.file, 0n, 100), '.L read on the old open file');
  assert.is(r1.errno, ESTALE);
  const r2 = await rejection(L.walk(fl.sub, ['version']), '.L walk from the old directory');
  assert.is(r2.errno, ESTALE);
  const r3 = await rejection(L.open(fl.deep, 'r'), '.L open of an old deep fid');
  assert.is(r3.errno, ESTALE);
  // 9P2000.u: the text says so
  const r4 = await rejection(u.read(fu.file, 0n, 100), '.u read on the old open file');
  assert.is(r4.ename, 'file has been removed');
  assert.is(r4.errno, ESTALE);
  const r5 = await rejection(u.open(fu.deep, 'r'), '.u open of an old deep fid');
  assert.is(r5.ename, 'file has been removed');

  // new walks on the same connections reach the new subtree
  assert.is(await text(L, '/demo/sub/version'), 'two\n');
  assert.is(await text(L, '/demo/sub/inner/deep'), 'deep two\n');
  assert.is(await text(u, '/demo/sub/inner/deep'), 'deep two\n');
  for (const f of [fl.file, fl.sub, fl.deep]) await L.clunk(f).catch(() => undefined);
  for (const f of [fu.file, fu.sub, fu.deep]) await u.clunk(f).catch(() => undefined);
  await Promise.all([L.close(), u.close()]);
});

test('a reload of styx-root itself keeps the mounted subtree in the new tree', async () => {
  const c = await connect('9P2000.L');
  const before = th.host.instances.get('demo')!.run;
  await th.host.reload('styx-root');
  assert.is(th.host.instances.get('styx-root')!.state, 'active');
  assert.equal(await names(c, '/demo/sub'), ['inner', 'version']);
  assert.is(await text(c, '/demo/sub/version'), 'two\n');
  assert.ok(th.host.instances.get('demo')!.run === before, 'the mounting module was not restarted');
  await c.close();
});

test('stopping the module removes /demo; starting it (through /ctl) brings it back; stop through /ctl removes it again', async () => {
  const c = await connect('9P2000.u');
  const held = await c.walkPath('/demo/sub/version');
  await th.host.stopInstance('demo');
  assert.is(th.host.instances.get('demo')!.state, 'stopped');
  assert.not.ok((await names(c, '/')).includes('demo'), '/ no longer lists demo');
  await rejection(c.walkPath('/demo'), 'walk to /demo after stop');
  const stale = await rejection(c.open(held, 'r'), 'open of a fid held across the stop');
  assert.is(stale.errno, ESTALE);
  await c.clunk(held).catch(() => undefined);

  const fid = await c.walkPath('/ctl');
  try {
    await c.open(fid, 'rw');
    await c.write(fid, 0n, Buffer.from('start demo\n'));
    assert.match(Buffer.from(await c.read(fid, 0n, 4096)).toString('utf8'), /^started demo: active\n$/);
  } finally {
    await c.clunk(fid);
  }
  assert.equal(await names(c, '/demo'), ['sub']);
  assert.is(await text(c, '/demo/sub/version'), 'two\n');

  const f2 = await c.walkPath('/ctl');
  try {
    await c.open(f2, 'rw');
    await c.write(f2, 0n, Buffer.from('stop demo\n'));
    assert.is(Buffer.from(await c.read(f2, 0n, 4096)).toString('utf8'), 'stopped demo\n');
  } finally {
    await c.clunk(f2);
  }
  assert.not.ok((await names(c, '/')).includes('demo'));
  await rejection(c.walkPath('/demo/sub'), 'walk to /demo/sub after ctl stop');
  await c.close();
});

test.run();
