// A client attached with an aname that is a path (`aname=/demo`, as a Linux mount of one export
// does) keeps its mount across a reload of styx-root: the attach fid walks its path again in the
// new tree (the mount point's alias it stood on is gone), and its qid stays the same.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '../../fs/client/client.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';

const demo = `
import { dir, file } from 'cheshire/sdk';
export function start(ctx: any) { ctx.mount('/demo', dir('demo', [file('hi', { read: () => 'hi from demo\\n' })])); }
`;

let node: StyxNode;

test.before(async () => {
  node = await startStyxNode({ modules: { demo: { index: demo } }, role: ['demo'] });
});
test.after(async () => {
  await node?.close();
});

for (const version of ['9P2000.L', '9P2000.u'] as const) {
  test(`${version}: an aname=/demo attach survives a styx-root reload`, async () => {
    const c = await Client.connect({ host: '127.0.0.1', port: node.port, version });
    try {
      const { fid: root, qid } = await c.attach({ aname: '/demo', uname: 'test' });
      const before = await c.walkPath('hi', root);
      assert.is((await c.readFile('hi', { from: root })).toString(), 'hi from demo\n');
      await node.th.host.reload('styx-root');
      // The subtree is the demo module's (styx-root only grafts it): a fid inside it goes on.
      await c.open(before, 'r');
      assert.is(Buffer.from(await c.read(before, 0, 100)).toString(), 'hi from demo\n');
      assert.is((await c.readFile('hi', { from: root })).toString(), 'hi from demo\n', 'the attach fid walks again in the new tree');
      assert.equal((await c.ls('', { from: root })).map((e) => e.name), ['hi']);
      const now = version === '9P2000.L' ? (await c.getattr(root)).qid : (await c.stat(root)).qid;
      assert.is(now.path, qid.path, 'the mount root keeps its qid');
    } finally {
      await c.close();
    }
  });
}

test.run();
