// The ctx.mount bridge of isolated modules, both halves in one process over a real MessageChannel
// (the same Rpc the host and an isolate use): TreeProxy (host) <-> TreeExport (isolate).
// - nodes, attributes, lookups, lists, reads and writes cross; a NineError stays that error
//   (errno and text), any other throw is a fault; qid paths are the host's own;
// - a blocking read (a stream's follower) is aborted in the isolate when the host's signal aborts
//   (a flushed 9P request);
// - a rename (or link) to a node of another tree: EXDEV; the isolate lets go of a node only once the host
//   gave back every NodeInfo it was sent (forget), so an answer in flight never names a dropped node.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { EACCES, EXDEV } from '../../fs/codec/constants.ts';
import { E, NineError } from '../../fs/errors.ts';
import { stream } from '../../fs/tree/stream.ts';
import { memfs } from '../../fs/tree/memfs.ts';
import { ctl, dir, file } from '../../fs/tree/synthetic.ts';
import type { Node } from '../../fs/tree/types.ts';
import type { CallMsg, HostMsg } from './protocol.ts';
import { Rpc } from './rpc.ts';
import { TreeExport } from './tree-export.ts';
import { TreeProxy, type ProxyNode } from './tree-proxy.ts';

const S = suite('isolation tree bridge');

interface Pair { proxy: TreeProxy; exp: TreeExport; root: ProxyNode; close(): void }

function pair(tree: Node): Pair {
  const { port1, port2 } = new MessageChannel();
  const exp = new TreeExport('t');
  const far = new Rpc('t', (m) => port2.postMessage(m), (c: CallMsg, signal) => exp.serve(c.member, c.args, signal));
  port2.on('message', (m: HostMsg) => {
    if (far.receive(m)) return;
    if (m.t === 'forget') exp.forget(m.ids);
  });
  const near = new Rpc('t', (m) => port1.postMessage(m), () => { throw new Error('no calls this way'); });
  port1.on('message', (m: { t: string }) => near.receive(m));
  const proxy = new TreeProxy(near, (m) => port1.postMessage(m), 't');
  const root = proxy.node(exp.info(tree));
  const ports: MessagePort[] = [port1, port2];
  return { proxy, exp, root, close: () => { for (const p of ports) p.close(); } };
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const open = { read: true, write: false, truncate: false, append: false };
const rw = { read: true, write: true, truncate: false, append: false };

S('nodes, attributes, lookups, lists, reads and writes cross; qid paths are the host\'s', async () => {
  let note = 'first';
  const tree = dir('board', [file('note', { read: () => note, write: (d) => { note = d.toString('utf8'); } }), dir('sub', [file('deep', { read: () => 'deep' })])]);
  const p = pair(tree);
  try {
    assert.is(p.root.name, 'board');
    assert.ok(typeof p.root.lookup === 'function' && typeof p.root.list === 'function');
    assert.is(p.root.create, undefined, 'a method the node lacks is absent on the proxy (the session answers EOPNOTSUPP)');
    assert.equal((await p.root.list!()).map((n) => n.name), ['note', 'sub']);
    const n = (await p.root.lookup!('note'))!;
    assert.is(await p.root.lookup!('nope'), undefined);
    assert.is(n, await p.root.lookup!('note'), 'the same node is the same proxy');
    const real = (await tree.lookup('note'))!;
    assert.is.not(n.qid.path, real.qid.path, 'the proxy\'s qid path is the host\'s own');
    assert.is(n.qid.type, real.qid.type);
    assert.equal(await n.getattr(), await real.getattr(), 'attributes cross as they are');
    const h = await n.open!(rw);
    assert.is(await h.write!(0n, Buffer.from('second'), new AbortController().signal), 6);
    const h2 = await n.open!(open);
    assert.is(text(await h2.read!(0n, 100, new AbortController().signal)), 'second');
    await h.close!();
    await h2.close!();
    assert.is(p.exp.size.handles, 0, 'closed handles are let go of in the isolate');
    const deep = (await ((await p.root.lookup!('sub'))!).lookup!('deep'))!;
    const h3 = await deep.open!(open);
    assert.is(text(await h3.read!(0n, 100, new AbortController().signal)), 'deep');
    await h3.close!();
  } finally {
    p.close();
  }
});

S('a NineError stays that error (errno, text); another throw is a fault', async () => {
  const tree = dir('board', [
    file('secret', { read: () => { throw E.perm.withText('secret is closed'); } }),
    ctl('ctl', (cmd) => { if (cmd === 'boom') throw new Error('boom refused'); return `ok ${cmd}`; }),
  ]);
  const p = pair(tree);
  try {
    const h = await (await p.root.lookup!('secret'))!.open!(open);
    try {
      await h.read!(0n, 10, new AbortController().signal);
      assert.unreachable('read must fail');
    } catch (err) {
      assert.instance(err, NineError);
      assert.is((err as NineError).errno, EACCES);
      assert.is((err as NineError).message, 'secret is closed');
    }
    const c = await (await p.root.lookup!('ctl'))!.open!(rw);
    assert.is(await c.write!(0n, Buffer.from('hi'), new AbortController().signal), 2);
    assert.is(text(await c.read!(0n, 100, new AbortController().signal)), 'ok hi');
    try {
      await c.write!(0n, Buffer.from('boom'), new AbortController().signal);
      assert.unreachable('boom must fail');
    } catch (err) {
      // A ctl turns its command's throw into a NineError carrying the message.
      assert.instance(err, NineError);
      assert.match((err as Error).message, /boom refused/);
    }
  } finally {
    p.close();
  }
});

S('a blocking read is aborted in the isolate when the host\'s signal aborts; data reaches a waiting reader', async () => {
  const log = stream('events');
  const tree = dir('board', [log, log.follower()]);
  const p = pair(tree);
  try {
    const f = (await p.root.lookup!('events.follow'))!;
    const h = await f.open!(open);
    const waiting = h.read!(0n, 100, new AbortController().signal);
    setTimeout(() => log.append('tick 1'), 20);
    assert.is(text(await waiting), 'tick 1\n');
    // The read that continues right where the last one returned data gets 0 bytes at once (docs/9p.md)...
    assert.is((await h.read!(7n, 100, new AbortController().signal)).length, 0);
    // ...the next one at the end waits.
    const ac = new AbortController();
    const blocked = Promise.resolve(h.read!(7n, 100, ac.signal)).then(() => 'answered', (err: Error) => `failed: ${err.message}`);
    // The isolate's read is under way (its signal not yet aborted): abort it from the host.
    await new Promise((r) => setTimeout(r, 20));
    ac.abort(new Error('flushed'));
    assert.is(await blocked, 'failed: flushed');
    // The handle still works afterwards.
    setTimeout(() => log.append('tick 2'), 20);
    assert.is(text(await h.read!(7n, 100, new AbortController().signal)), 'tick 2\n');
    await h.close!();
  } finally {
    p.close();
  }
});

S('a rename to a node of another tree is EXDEV; forget gives back counted NodeInfos', async () => {
  const tree = memfs();
  await tree.create({ name: 'a', dir: false, perm: 0o644, nUid: 0, nGid: 0, uid: 'u' });
  const p = pair(tree);
  const other = pair(memfs());
  try {
    const fake = other.root;
    try {
      await p.root.rename!('a', fake, 'b');
      assert.unreachable('a rename across trees must fail');
    } catch (err) {
      assert.is((err as NineError).errno, EXDEV);
    }
    // Within the tree they work.
    await p.root.rename!('a', p.root, 'b');
    assert.equal((await p.root.list!()).map((n) => n.name), ['b']);
    // Counting: the root was sent once by pair() and once now; 'b' once by list() and once now.
    p.exp.info(tree);
    const b = p.exp.info((await tree.lookup('b'))!);
    const held = p.exp.size.nodes;
    const gone = (id: number) => p.exp.serve('getattr', [id], undefined).then(() => 'held', (err: Error) => err.message);
    p.exp.forget([[b.id, 1]]);
    assert.is(p.exp.size.nodes, held, 'still held: one NodeInfo of it not given back');
    p.exp.forget([[b.id, 1]]);
    assert.is(p.exp.size.nodes, held - 1, 'given back in full: let go of');
    assert.match(await gone(b.id), /had let go of/, 'the host asking about it after is an error naming that');
    p.exp.forget([[p.root.id, 1]]);
    assert.is(p.exp.size.nodes, held - 1);
    p.exp.forget([[p.root.id, 1]]);
    assert.is(p.exp.size.nodes, held - 2);
  } finally {
    p.close();
    other.close();
  }
});

S.run();
