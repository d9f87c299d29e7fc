// ctx.mount in an isolated module (worker and process), read by a real 9P client through a real
// node (styx-root on a loopback port): the tree lives in the isolate and the host serves a proxy
// of it (core/isolation/tree-proxy.ts, tree-export.ts).
// - the mounted files list, read and write as in-process; a 9P error the module's tree throws
//   reaches the client with its errno and text; a control file's command runs in the isolate;
// - a read of the stream's follower waits in the isolate and is answered by the next line; a
//   flushed (aborted) one is given up;
// - a reload mounts the new version's tree; stopping the instance removes the mount, starting it
//   brings it back; a mount path another instance holds fails the start with CHS_ERR_MOUNT_INVALID.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EACCES } from '../../fs/codec/constants.ts';
import { REPO } from '../helpers/project.ts';
import { rejection, startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';
import { scope, until } from '../helpers/extra.ts';

const S = suite('isolation-mount');
const BOARD = readFileSync(join(REPO, 'test/fixtures/isolation-mount/board.ts'), 'utf8');
const board = (v: string) => BOARD.replace("'__V__'", `'${v}'`);

let node: StyxNode | null = null;
const t = scope();
S.after.each(async () => {
  await node?.close();
  node = null;
  await t.cleanup();
});

for (const mode of ['worker', 'process'] as const) {
  S(`${mode}: the mounted tree lists, reads, writes, refuses, runs commands and streams through the node's 9P server`, async () => {
    node = await startStyxNode({ modules: { board: { cheshire: { isolation: mode }, index: board('v1') } }, role: ['board'] });
    const n = node;
    const svc = n.th.host.instances.get('board')!.run!.service as { pid(): Promise<number>; emit(line: string): Promise<void> };
    const c = await n.connect('9P2000.L');
    assert.ok((await c.ls('/')).some((e) => e.name === 'board'), '/ lists board');
    assert.equal((await c.ls('/board')).map((e) => e.name).sort(), ['ctl', 'events', 'events.follow', 'note', 'secret', 'version']);
    const pid = await svc.pid();
    assert.is(await text(c, '/board/version'), `v1 ${pid}`, 'read in the isolate');
    if (mode === 'process') assert.is.not(pid, process.pid);
    assert.is(await text(c, '/board/note'), 'empty');
    await c.writeFile('/board/note', 'hello from 9P', { truncate: false });
    assert.is(await text(c, '/board/note'), 'hello from 9P', 'the write reached the isolate\'s file');
    const refused = await rejection(c.readFile('/board/secret'), 'read of secret');
    assert.is(refused.errno, EACCES, 'the tree\'s 9P error keeps its errno');
    const u = await n.connect('9P2000.u');
    assert.is((await rejection(u.readFile('/board/secret'), 'read of secret (.u)')).ename, 'secret is closed', 'and its text');

    // A control file: the command runs in the isolate, its answer is read back on the same fid.
    const fid = await c.walkPath('/board/ctl');
    await c.open(fid, 'rw');
    await c.write(fid, 0, Buffer.from('go'));
    assert.is(Buffer.from(await c.read(fid, 0, 100)).toString(), 'did go');
    await c.clunk(fid);
    assert.is(await text(c, '/board/events'), 'go\n', 'the command appended to the stream');

    // The follower: a read at the end waits (in the isolate) for the next line.
    const f = await c.walkPath('/board/events.follow');
    await c.open(f, 'r');
    assert.is(Buffer.from(await c.read(f, 0, 100)).toString(), 'go\n');
    assert.is((await c.read(f, 3, 100)).length, 0, 'the read continuing where data ended gets 0 bytes (docs/9p.md)');
    const waiting = c.read(f, 3, 100);
    setTimeout(() => void svc.emit('later'), 50);
    assert.is(Buffer.from(await waiting).toString(), 'later\n', 'the waiting read is answered by the next line');
    assert.is((await c.read(f, 9, 100)).length, 0);
    const ac = new AbortController();
    const flushed = c.read(f, 9, 100, ac.signal).then(() => 'answered', () => 'given up');
    setTimeout(() => ac.abort(), 50);
    assert.is(await flushed, 'given up', 'a flushed read is given up');
    await svc.emit('after');
    assert.is(Buffer.from(await c.read(f, 9, 100)).toString(), 'after\n', 'the fid still reads after the flush');
    await c.clunk(f);
  });

  S(`${mode}: a reload mounts the new version's tree; a stop removes the mount, a start brings it back`, async () => {
    node = await startStyxNode({ modules: { board: { cheshire: { isolation: mode }, index: board('v1') } }, role: ['board'] });
    const n = node;
    const c = await n.connect('9P2000.L');
    assert.match(await text(c, '/board/version'), /^v1 /);
    await n.project.write('modules/board/index.ts', board('v2'));
    const failures = await n.th.host.reloadDir(n.project.modulePath('board', '').replace(/\/$/, ''));
    assert.equal([...failures].map(([id, e]) => `${id}: ${e.message}`), []);
    assert.match(await text(c, '/board/version'), /^v2 /, 'a new walk reaches the new version\'s tree');

    await n.th.host.stopInstance('board');
    assert.not.ok((await c.ls('/')).some((e) => e.name === 'board'), 'the stopped instance\'s mount is gone');
    await n.th.host.startInstance('board');
    assert.match(await until('board mounted again', async () => (await c.ls('/')).some((e) => e.name === 'board') && text(c, '/board/version'), 10_000), /^v2 /);
  });

  S(`${mode}: a mount path another instance holds fails the start with CHS_ERR_MOUNT_INVALID naming it`, async () => {
    const project = await t.project({
      modules: {
        board: { cheshire: { isolation: mode, provides: ['board'] }, index: board('v1') },
        // Another isolated module asking for the same path, started after board.
        squatter: { cheshire: { isolation: mode, requires: [{ service: 'board' }] }, index: board('sq') },
      },
      role: ['board', 'squatter'],
    });
    const th = await t.host(project, { watch: false });
    const err = await until('squatter to fail its start', () => th.host.instances.get('squatter')?.lastError, 10_000);
    assert.is(err.code, 'CHS_ERR_MOUNT_INVALID', err.message);
    assert.match(err.message, /\/board is already mounted by board/);
    assert.is(th.host.instances.get('board')!.state, 'active', 'board keeps running');
    assert.equal(th.host.mounts.list().map((m) => [m.path, m.owner]), [['/board', 'board']], 'and keeps its mount');
  });
}

S.run();
