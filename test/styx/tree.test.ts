// styx-root's node tree through our own 9P client, in 9P2000.L and 9P2000.u: /status, the
// per-instance files, /ctl commands with their answer read back on the same fid, config files
// that apply validated revisions (and refuse bad ones with the reason, changing nothing), a
// config document split over two Twrites, `revert N`, the log's follow view (blocking reads,
// woken by new lines, cancelled by Tflush and by clunk), and deps. The log files' reader
// semantics are in log-files.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { RemoteError } from '../../fs/errors.ts';
import { EFBIG, EINVAL } from '../../fs/codec/constants.ts';
import { waitFor, type TestHost } from '../helpers/project.ts';
import { rejection, startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

let node: StyxNode;
let th: TestHost;

test.before(async () => {
  node = await startStyxNode({ copy: ['hello', 'greeter'], role: ['hello'], config: { hello: { port: 0 } } });
  th = node.th;
});

test.after(async () => {
  await node?.close();
});

const connect = (version: Dialect) => node.connect(version);

/** 'pending' if `p` has not settled within `ms` (a behaviour check: it must block). */
async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([
    p.then(() => 'settled', () => 'settled'),
    new Promise<string>((resolve) => { timer = setTimeout(() => resolve('pending'), ms); }),
  ]);
  clearTimeout(timer);
  return r === 'pending';
}

const reloadsOf = (c: Client, id: string) => text(c, `/modules/${id}/status`).then((s) => Number(/^reloads: (\d+)$/m.exec(s)?.[1] ?? NaN));
const revCount = async (c: Client, id: string) => (await text(c, `/modules/${id}/revisions`)).split('\n').filter((l) => /^\d+ /.test(l)).length;

/** Writes `data` on a fresh fid opened for writing; the fid is clunked either way. */
async function writeOnce(c: Client, path: string, data: string): Promise<void> {
  const fid = await c.walkPath(path);
  try {
    await c.open(fid, 'w');
    await c.writeAll(fid, 0n, Buffer.from(data));
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
}

for (const dialect of ['9P2000.L', '9P2000.u'] as const) {
  test(`${dialect}: /status lists each instance; / and /modules/M hold the control files`, async () => {
    const c = await connect(dialect);
    assert.is(c.dialect, dialect);
    const status = await text(c, '/status');
    assert.match(status, /^node test role test pid \d+ instances 3 key [0-9a-f]{64}$/m);
    for (const id of ['styx-root', 'hello', 'greeter']) {
      assert.match(status, new RegExp(`^${id} active 1\\.0\\.0#[0-9a-f]+ up \\S+ restarts 0 reloads \\d+$`, 'm'), `status line of ${id}`);
    }
    const top = (await c.ls('/')).map((e) => e.name).sort();
    for (const name of ['ctl', 'log', 'modules', 'status']) assert.ok(top.includes(name), `/ has ${name} (${top.join(' ')})`);
    assert.equal((await c.ls('/modules')).map((e) => e.name).sort(), ['greeter', 'hello', 'styx-root']);
    for (const id of ['hello', 'greeter']) {
      const entries = await c.ls(`/modules/${id}`);
      assert.equal(entries.map((e) => e.name).sort(), ['config', 'ctl', 'deps', 'health', 'history', 'log', 'log.follow', 'log.query', 'override', 'revisions', 'source', 'status']);
      assert.ok(entries.every((e) => e.isDir === (e.name === 'source')), 'plain files, and the source directory');
    }
    assert.match(await text(c, '/modules/hello/status'), /^id: hello\nmodule: hello\nversion: 1\.0\.0\n/);
    await c.close();
  });

  test(`${dialect}: "reload hello" on /ctl reloads it and the answer is read back on the same fid`, async () => {
    const c = await connect(dialect);
    const before = await reloadsOf(c, 'hello');
    const run = th.host.instances.get('hello')!.run;
    const fid = await c.walkPath('/ctl');
    try {
      await c.open(fid, 'rw');
      const n = await c.write(fid, 0n, Buffer.from('reload hello\n'));
      assert.is(n, 'reload hello\n'.length);
      assert.is(Buffer.from(await c.read(fid, 0n, 4096)).toString('utf8'), 'reloaded hello\n');
    } finally {
      await c.clunk(fid);
    }
    assert.is(await reloadsOf(c, 'hello'), before + 1, 'the reload counter grew by one');
    assert.ok(th.host.instances.get('hello')!.run !== run, 'a new run of hello');
    assert.is(th.host.instances.get('hello')!.state, 'active');
    await c.close();
  });
}

test('an unknown module on /ctl fails the write with the text naming it (9P2000.u, 9P2000); .L carries EINVAL', async () => {
  for (const dialect of ['9P2000.u', '9P2000'] as const) {
    const c = await connect(dialect);
    const fid = await c.walkPath('/ctl');
    try {
      await c.open(fid, 'rw');
      const err = await rejection(c.write(fid, 0n, Buffer.from('reload nosuch\n')), `${dialect} reload nosuch`);
      assert.match(err.ename, /no instance "nosuch"/, `${dialect}: ${err.ename}`);
      if (dialect === '9P2000.u') assert.is(err.errno, EINVAL);
    } finally {
      await c.clunk(fid);
    }
    await c.close();
  }
  const l = await connect('9P2000.L');
  const fid = await l.walkPath('/ctl');
  try {
    await l.open(fid, 'rw');
    const err = await rejection(l.write(fid, 0n, Buffer.from('reload nosuch\n')), '.L reload nosuch');
    assert.is(err.errno, EINVAL);
  } finally {
    await l.clunk(fid);
  }
  // an unknown verb on a module's ctl too
  const u = await connect('9P2000.u');
  const err = await rejection(writeOnce(u, '/modules/hello/ctl', 'explode'), 'unknown verb');
  assert.match(err.ename, /unknown command "explode"/);
  await Promise.all([l.close(), u.close()]);
});

test('valid JSON written to /modules/greeter/config applies a new revision; the instance restarts with it', async () => {
  const c = await connect('9P2000.u');
  const revs = await revCount(c, 'greeter');
  const run = th.host.instances.get('greeter')!.run;
  await writeOnce(c, '/modules/greeter/config', '{ "greeting": "Bonjour" }\n');
  const greeter = th.host.instances.get('greeter')!;
  assert.ok(greeter.run !== run, 'greeter restarted');
  assert.is(greeter.state, 'active');
  assert.is((greeter.run!.service as { greet(n: string): string }).greet('Ada'), 'Bonjour, Ada!');
  assert.equal(JSON.parse(await text(c, '/modules/greeter/config')), { greeting: 'Bonjour' });
  const revisions = await text(c, '/modules/greeter/revisions');
  assert.is(await revCount(c, 'greeter'), revs + 1, 'one more revision');
  assert.match(revisions, new RegExp(`^${revs + 1} \\S+ api$`, 'm'), revisions);
  assert.match(revisions, /Bonjour/, 'the revision shows what changed');
  await c.close();
});

test('invalid JSON and a schema-violating value are refused with the reason; nothing changes', async () => {
  const u = await connect('9P2000.u');
  const L = await connect('9P2000.L');
  const before = await text(u, '/modules/greeter/config');
  const revs = await revCount(u, 'greeter');
  const run = th.host.instances.get('greeter')!.run;

  const notJson = await rejection(writeOnce(u, '/modules/greeter/config', '{ "greeting": Bonjour }'), 'not JSON');
  assert.match(notJson.ename, /^config: not JSON/);
  const notObject = await rejection(writeOnce(u, '/modules/greeter/config', '[1, 2]'), 'an array');
  assert.match(notObject.ename, /expected a JSON object/);
  const schema = await rejection(writeOnce(u, '/modules/greeter/config', '{ "greeting": "" }'), 'schema violation');
  assert.match(schema.ename, /greeter/);
  assert.match(schema.ename, /\/greeting/);
  const unknownKey = await rejection(writeOnce(u, '/modules/greeter/config', '{ "volume": 11 }'), 'unknown key');
  assert.match(unknownKey.ename, /unknown key "volume"/);
  const viaL = await rejection(writeOnce(L, '/modules/greeter/config', '{ "greeting": 5 }'), '.L schema violation');
  assert.is(viaL.errno, EINVAL);

  assert.is(await text(u, '/modules/greeter/config'), before, 'same config');
  assert.is(await revCount(u, 'greeter'), revs, 'no new revision');
  assert.ok(th.host.instances.get('greeter')!.run === run, 'greeter not restarted');
  assert.is(th.host.instances.get('greeter')!.state, 'active');
  await Promise.all([u.close(), L.close()]);
});

test('a config written in two Twrites (split JSON) is applied once complete', async () => {
  const c = await connect('9P2000.L');
  const revs = await revCount(c, 'greeter');
  const doc = '{ "greeting": "Salut" }';
  const cut = 13;
  const fid = await c.walkPath('/modules/greeter/config');
  try {
    await c.open(fid, 'w');
    assert.is(await c.write(fid, 0n, Buffer.from(doc.slice(0, cut))), cut);
    assert.is(th.host.instances.get('greeter')!.config.greeting, 'Bonjour', 'nothing applied after half a document');
    assert.is(await revCount(c, 'greeter'), revs);
    assert.is(await c.write(fid, BigInt(cut), Buffer.from(doc.slice(cut))), doc.length - cut);
  } finally {
    await c.clunk(fid);
  }
  assert.is(th.host.instances.get('greeter')!.config.greeting, 'Salut');
  assert.equal(JSON.parse(await text(c, '/modules/greeter/config')), { greeting: 'Salut' });
  assert.is(await revCount(c, 'greeter'), revs + 1, 'applied once');
  await c.close();
});

test('a config document over the cap is refused with EFBIG and CHS_ERR_CONFIG_TOO_LARGE; nothing applied; the next document works', async () => {
  const c = await connect('9P2000.L');
  const revs = await revCount(c, 'greeter');
  const fid = await c.walkPath('/modules/greeter/config');
  const chunk = Buffer.from(`{ "greeting": "${'x'.repeat(60 * 1024)}`);
  let refused: RemoteError | undefined;
  try {
    await c.open(fid, 'w');
    let off = 0n;
    for (let i = 0; i < 40 && !refused; i++) {
      const data = i === 0 ? chunk : Buffer.alloc(60 * 1024, 0x78);
      try {
        await c.write(fid, off, data);
        off += BigInt(data.length);
      } catch (err) {
        refused = err as RemoteError;
      }
    }
  } finally {
    await c.clunk(fid);
  }
  assert.ok(refused, 'a write past 1 MiB was refused');
  assert.is(refused!.errno, EFBIG);
  assert.is(await revCount(c, 'greeter'), revs, 'nothing applied');
  const u = await connect('9P2000.u');
  const tooBig = await rejection(writeOnce(u, '/modules/greeter/config', `{ "greeting": "${'y'.repeat(1100 * 1024)}" }`), 'one big write');
  assert.match(tooBig.ename, /^CHS_ERR_CONFIG_TOO_LARGE: config: a document over 1048576 bytes was refused/);
  await writeOnce(u, '/modules/greeter/config', '{ "greeting": "Hej" }\n');
  assert.is(th.host.instances.get('greeter')!.config.greeting, 'Hej');
  await Promise.all([c.close(), u.close()]);
});

test('"revert 1" on /modules/greeter/ctl brings back the first revision as a new one', async () => {
  const c = await connect('9P2000.u');
  const revs = await revCount(c, 'greeter');
  const fid = await c.walkPath('/modules/greeter/ctl');
  let answer: string;
  try {
    await c.open(fid, 'rw');
    await c.write(fid, 0n, Buffer.from('revert 1\n'));
    answer = Buffer.from(await c.read(fid, 0n, 4096)).toString('utf8');
  } finally {
    await c.clunk(fid);
  }
  assert.is(answer, `config of greeter is revision ${revs + 1} (reverted to 1)\n`);
  assert.equal(JSON.parse(await text(c, '/modules/greeter/config')), { greeting: 'Hello' });
  assert.is((th.host.instances.get('greeter')!.run!.service as { greet(n: string): string }).greet('Ada'), 'Hello, Ada!');
  assert.match(await text(c, '/modules/greeter/revisions'), new RegExp(`^${revs + 1} \\S+ revert`, 'm'));
  const bad = await rejection(writeOnce(c, '/modules/greeter/ctl', 'revert 999'), 'revert to a missing revision');
  assert.match(bad.ename, /CHS_ERR_REVISION_NOT_FOUND: instance "greeter" has no revision 999 \(it has 1\.\.\d+\)/);
  assert.is(await revCount(c, 'greeter'), revs + 1, 'a failed revert adds nothing');
  await c.close();
});

/**
 * Opens a module's log.follow and drains its history the way the Linux client does (reads until
 * a 0-byte one, which comes right after the data); `offset` is where the next read goes.
 */
async function openLog(c: Client, id: string): Promise<{ fid: number; history: string; offset: bigint }> {
  const fid = await c.walkPath(`/modules/${id}/log.follow`);
  await c.open(fid, 'r');
  let history = '';
  let offset = 0n;
  for (;;) {
    const data = await c.read(fid, offset, c.iounit);
    if (!data.length) break;
    history += Buffer.from(data).toString('utf8');
    offset += BigInt(data.length);
  }
  return { fid, history, offset };
}

/** Reads log.follow from `at.offset` until `pattern` shows up (a 0-byte read: read again, it waits). */
async function readUntil(c: Client, fid: number, pattern: RegExp, at: { offset: bigint }, first = ''): Promise<string> {
  let got = first;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5000);
  try {
    while (!pattern.test(got)) {
      const data = await c.read(fid, at.offset, c.iounit, ac.signal);
      at.offset += BigInt(data.length);
      got += Buffer.from(data).toString('utf8');
    }
  } catch (err) {
    throw new Error(`log never showed ${pattern} (got ${JSON.stringify(got)}): ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  return got;
}

for (const dialect of ['9P2000.L', '9P2000.u'] as const) {
  test(`${dialect}: a log read blocks until the module logs something new`, async () => {
    const c = await connect(dialect);
    const at = await openLog(c, 'greeter');
    const { fid, history } = at;
    try {
      assert.match(history, /greeter/, 'the history comes first');
      const next = c.read(fid, at.offset, c.iounit);
      assert.ok(await stillPending(next, 150), 'with nothing new, the read blocks');
      const reload = th.host.reload('greeter');
      const data = await next;
      const first = Buffer.from(data).toString('utf8');
      at.offset += BigInt(data.length);
      assert.ok(first.length > 0, 'woken with data');
      await reload;
      const all = await readUntil(c, fid, /greeter reloaded v1\.0\.0/, at, first);
      assert.not.match(all, new RegExp(history.split('\n')[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'old lines are not repeated');
    } finally {
      await c.clunk(fid);
    }
    await c.close();
  });
}

test('a blocked log read is cancelled cleanly by an AbortSignal (Tflush); the fid keeps working', async () => {
  const c = await connect('9P2000.L');
  const at = await openLog(c, 'greeter');
  const { fid } = at;
  try {
    const ac = new AbortController();
    const blocked = c.read(fid, at.offset, c.iounit, ac.signal);
    assert.ok(await stillPending(blocked, 100), 'blocks');
    ac.abort();
    try {
      await blocked;
      assert.unreachable('the aborted read resolved');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CHS_ERR_9P_ABORTED');
    }
    // the connection and the same fid still work; the flushed read consumed nothing
    assert.match(await text(c, '/status'), /^greeter active/m);
    const next = c.read(fid, at.offset, c.iounit);
    assert.ok(await stillPending(next, 100), 'a new read on the same fid blocks again');
    await th.host.reload('greeter');
    const data = await next;
    at.offset += BigInt(data.length);
    const got = await readUntil(c, fid, /greeter reloaded/, at, Buffer.from(data).toString('utf8'));
    assert.match(got, /greeter reloaded/);
  } finally {
    await c.clunk(fid);
  }
  await c.close();
});

test('a blocked log read is ended by clunking its fid; the connection keeps working', async () => {
  for (const dialect of ['9P2000.L', '9P2000.u'] as const) {
    const c = await connect(dialect);
    const { fid, offset } = await openLog(c, 'hello');
    const blocked = c.read(fid, offset, c.iounit);
    assert.ok(await stillPending(blocked, 100), 'blocks');
    const outcome = blocked.then(() => 'resolved', (err: unknown) => err);
    await c.clunk(fid); // answered, not held up by the blocked read
    const r = await outcome;
    assert.instance(r, RemoteError, `${dialect}: the blocked read ends with an error, got ${String(r)}`);
    assert.match(await text(c, '/status'), /^hello active/m);
    // the fid is gone
    await rejection(c.read(fid, 0n, 10), 'read on the clunked fid');
    await c.close();
  }
});

test('deps shows the requirement and its binding, and the reverse', async () => {
  const c = await connect('9P2000.L');
  const hello = await text(c, '/modules/hello/deps');
  assert.match(hello, /^requires greeter@\^1 dynamic 1 as greeter -> greeter \(active\)$/m);
  assert.match(hello, /^used-by -$/m);
  const greeter = await text(c, '/modules/greeter/deps');
  assert.match(greeter, /^provides greeter$/m);
  assert.match(greeter, /^used-by hello$/m);
  // a stopped provider shows in the binding
  await th.host.stopInstance('greeter');
  try {
    await waitFor('greeter stopped', () => th.host.instances.get('greeter')!.state === 'stopped');
    assert.match(await text(c, '/modules/hello/deps'), /-> (nothing|greeter \(stopped\))$/m);
  } finally {
    await th.host.startInstance('greeter');
  }
  await waitFor('greeter active again', () => th.host.instances.get('greeter')!.state === 'active');
  assert.match(await text(c, '/modules/hello/deps'), /-> greeter \(active\)$/m);
  await c.close();
});

test.run();
