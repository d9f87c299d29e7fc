// The tree's log files over 9P, as the Linux client and one-Tread-per-read clients use them
// (docs/9p.md, "Stream files"): /modules/M/log is a growing file (a reader looping Tread until
// a 0-byte Rread gets the backlog and returns; at the end 0 bytes at once; a read from the old end
// returns exactly the new lines; stat is its length); log.follow waits at the end and answers 0
// right after data; log.query and `cheshire logs --since/--level` filter the log files; diodcat
// prints the backlog; and the history of a previous run is there after a host restart.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { formatRecord } from '../../core/log.ts';
import type { LogRecord } from '../../core/types.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { diodBinary, freePort, runTool } from '../helpers/diod.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

let project: Project;
let th: TestHost;
let addr: string;
const clients: Client[] = [];

const TALKER = `export async function start(ctx: any) { ctx.log.info('talker up'); return {}; }\n`;

test.before(async () => {
  const port = await freePort();
  addr = `127.0.0.1:${port}`;
  project = await makeProject({
    modules: { talker: { index: TALKER } },
    copy: ['styx-root'],
    role: ['styx-root', 'talker'],
    config: { modules: { 'styx-root': { listen: addr } } },
  });
  th = await startHost(project);
  assert.is(th.host.instances.get('styx-root')?.state, 'active', `styx-root did not start: ${th.host.instances.get('styx-root')?.lastError?.message}`);
});

test.after(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await th?.close();
  await project?.cleanup();
});

async function connect(version: Dialect = '9P2000.L'): Promise<Client> {
  const [host, port] = addr.split(':');
  const c = await Client.connect({ host, port: Number(port), version, timeoutMs: 3000 });
  clients.push(c);
  await c.attach({ uname: 'test' });
  return c;
}

type Level = 'info' | 'warn' | 'error';
const say = (level: Level, msg: string): void => { th.host.instances.get('talker')!.log[level](msg); };
const lines = (records: readonly LogRecord[]) => records.map((r) => formatRecord(r) + '\n').join('');
const utf8 = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** Reads like Linux's p9_client_read: Tread after Tread of `count` from `offset` until a 0-byte Rread. */
async function readToZero(c: Client, fid: number, offset = 0n, count = c.iounit): Promise<{ text: string; offset: bigint; reads: number }> {
  let text = '';
  let reads = 0;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 5_000);
  try {
    for (;;) {
      const data = await c.read(fid, offset, count, ac.signal);
      reads++;
      if (data.length === 0) return { text, offset, reads };
      text += utf8(data);
      offset += BigInt(data.length);
    }
  } catch (err) {
    throw new Error(`the reader never got a 0-byte Rread (it hung, as cat did on a Linux mount): ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

async function openPath(c: Client, path: string, access: 'r' | 'rw' = 'r'): Promise<number> {
  const fid = await c.walkPath(path);
  await c.open(fid, access);
  return fid;
}

/** 'pending' if `p` has not settled within `ms` (a behaviour check: it must wait). */
async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([p.then(() => 'settled', () => 'settled'), new Promise<string>((resolve) => { timer = setTimeout(() => resolve('pending'), ms); })]);
  clearTimeout(timer);
  return r === 'pending';
}

for (const dialect of ['9P2000.L', '9P2000.u', '9P2000'] as const) {
  test(`${dialect}: /modules/M/log: a reader looping Tread until 0 gets the whole backlog and returns; stat is its length`, async () => {
    for (let i = 0; i < 150; i++) say('info', `backlog line ${i} ${'.'.repeat(i % 40)}`);
    const c = await connect(dialect);
    const fid = await openPath(c, '/modules/talker/log');
    try {
      const small = await readToZero(c, fid, 0n, 256);
      assert.ok(small.reads > 10, 'many Treads of 256 bytes');
      assert.is(small.text, lines(th.host.control.logs('talker')), 'every record, as on the terminal, once and in order');
      assert.is((await c.statPath('/modules/talker/log')).size, BigInt(Buffer.byteLength(small.text)), 'stat reports the length');
      const big = await readToZero(c, fid);
      assert.is(big.text, small.text, 'the same with msize-sized reads');
    } finally {
      await c.clunk(fid);
    }
  });
}

test('/modules/M/log: a read at the end answers 0 bytes at once; after new lines, a read from the old end returns exactly them', async () => {
  const c = await connect();
  const fid = await openPath(c, '/modules/talker/log');
  try {
    const end = (await c.getattr(fid)).size;
    assert.is((await c.read(fid, end, 4096)).length, 0, 'at the end');
    assert.is((await c.read(fid, end + 100n, 4096)).length, 0, 'past the end');
    say('warn', 'new line A');
    say('info', 'new line B');
    const fresh = th.host.control.logs('talker').slice(-2);
    assert.equal(fresh.map((r) => r.msg), ['new line A', 'new line B']);
    const { text } = await readToZero(c, fid, end);
    assert.is(text, lines(fresh), 'exactly the new lines (what tail -f prints when its poll sees the file grow)');
    assert.is((await c.getattr(fid)).size, end + BigInt(Buffer.byteLength(text)));
  } finally {
    await c.clunk(fid);
  }
});

test('/modules/M/log.follow: the backlog then 0; the next read waits until a line comes; 0 right after it', async () => {
  const c = await connect();
  const fid = await openPath(c, '/modules/talker/log.follow');
  try {
    const backlog = await readToZero(c, fid);
    assert.match(backlog.text, /talker up/);
    const waiting = c.read(fid, backlog.offset, c.iounit);
    assert.ok(await stillPending(waiting, 150), 'with nothing new, the read waits');
    say('info', 'followed line');
    const got = utf8(await waiting);
    assert.match(got, /followed line\n$/);
    assert.is((await c.read(fid, backlog.offset + BigInt(Buffer.byteLength(got)), c.iounit)).length, 0, 'right after data: 0 at once, so the Linux client returns it to cat');
  } finally {
    await c.clunk(fid);
  }
});

test('/log and /log.follow: the node log works the same way', async () => {
  const c = await connect();
  const fid = await openPath(c, '/log');
  const ffid = await openPath(c, '/log.follow');
  try {
    const all = await readToZero(c, fid);
    assert.match(all.text, /talker up/);
    const follow = await readToZero(c, ffid);
    assert.ok(follow.text.length >= all.text.length, 'the same bytes at the same offsets');
    const waiting = c.read(ffid, follow.offset, c.iounit);
    assert.ok(await stillPending(waiting, 100), 'waits at the end');
    say('error', 'node-wide line');
    assert.match(utf8(await waiting), /node-wide line/);
  } finally {
    await c.clunk(fid);
    await c.clunk(ffid);
  }
});

test('diodcat (one Tread per read) prints the backlog of /modules/M/log and exits', async () => {
  const r = await runTool(diodBinary('diodcat'), ['-s', addr, '-a', '/', '-t', '5', 'modules/talker/log'], 8_000);
  assert.is(r.code, 0, `diodcat failed: ${r.stderr}`);
  assert.match(r.stdout, /INFO  talker +talker up\n/);
});

/** Runs one query on log.query and reads the JSON records until two 0-byte reads in a row. */
async function query(c: Client, text: string): Promise<LogRecord[]> {
  const fid = await openPath(c, '/modules/talker/log.query', 'rw');
  try {
    await c.write(fid, 0n, Buffer.from(`${text}\n`));
    let body = '';
    let offset = 0n;
    for (let zeros = 0; zeros < 2; ) {
      const data = await c.read(fid, offset, c.iounit);
      if (!data.length) { zeros++; continue; }
      zeros = 0;
      body += utf8(data);
      offset += BigInt(data.length);
    }
    return body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogRecord);
  } finally {
    await c.clunk(fid);
  }
}

test('/modules/M/log.query: level, since and limit filter the log files; follow then delivers new records', async () => {
  const c = await connect('9P2000.u'); // error texts reach the client (9P2000.L carries only errnos)
  say('warn', 'query warn one');
  say('error', 'query error one');
  const warns = await query(c, 'level=warn');
  assert.ok(warns.length >= 2 && warns.every((r) => r.level >= 40), 'warn and above only');
  assert.equal(warns.slice(-2).map((r) => r.msg), ['query warn one', 'query error one']);
  const since = th.host.control.logs('talker').at(-1)!.time;
  assert.ok((await query(c, `since=${since}`)).every((r) => r.time >= since));
  assert.equal((await query(c, 'limit=1')).map((r) => r.msg), ['query error one']);
  assert.equal(await query(c, 'level=fatal'), []);

  const fid = await openPath(c, '/modules/talker/log.query', 'rw');
  try {
    await c.write(fid, 0n, Buffer.from('level=error limit=1 follow\n'));
    const history = await readToZero(c, fid);
    assert.equal(history.text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as LogRecord).msg), ['query error one']);
    const waiting = c.read(fid, history.offset, c.iounit);
    assert.ok(await stillPending(waiting, 100), 'follow waits for a matching record');
    say('info', 'not an error');
    say('error', 'query error two');
    assert.equal((JSON.parse(utf8(await waiting)) as LogRecord).msg, 'query error two');
    const bad = await c.write(fid, 0n, Buffer.from('level=warn\n')).then(() => 'accepted', (err: Error) => err.message);
    assert.match(bad, /one query per open/);
  } finally {
    await c.clunk(fid);
  }
  const wrong = await openPath(c, '/modules/talker/log.query', 'rw');
  try {
    const err = await c.write(wrong, 0n, Buffer.from('level=loud')).then(() => 'accepted', (e: Error) => e.message);
    assert.match(err, /CHS_ERR_LOG_QUERY: level: "loud"/);
  } finally {
    await c.clunk(wrong);
  }
});

test('cheshire logs M --level / --since filter; a bad value exits 1 with CHS_ERR_LOG_QUERY', async () => {
  say('warn', 'cli warn marker');
  const levelled = await cheshire(['logs', 'talker', '--level', 'warn', '--node', addr]);
  assert.is(levelled.code, 0, show(levelled));
  assert.match(levelled.stdout, /WARN  talker +cli warn marker\n/);
  assert.not.match(levelled.stdout, /INFO /, 'no info records');
  const from = new Date(th.host.control.logs('talker').at(-1)!.time).toISOString();
  say('info', 'cli since marker');
  const since = await cheshire(['logs', 'talker', '--since', from, '--node', addr]);
  assert.is(since.code, 0, show(since));
  assert.not.match(since.stdout, /backlog line/, 'nothing older than --since');
  assert.match(since.stdout, /cli warn marker\n.*cli since marker\n$/s);
  const bad = await cheshire(['logs', 'talker', '--level', 'loud', '--node', addr]);
  assert.is(bad.code, 1, show(bad));
  assert.match(bad.stderr, /CHS_ERR_LOG_QUERY: level: "loud"/);
});

test('history survives a host restart: host.logs, /modules/M/log and log.query show the previous run', async () => {
  say('warn', 'marker from the previous run');
  await th.close();
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  th = await startHost(project);
  await waitFor('styx-root to be active', () => th.host.instances.get('styx-root')?.state === 'active');
  assert.ok(th.host.control.logs('talker').some((r) => r.msg === 'marker from the previous run'), 'in the in-memory tail');
  assert.ok((await th.host.control.readLogs('talker', { level: 40 })).some((r) => r.msg === 'marker from the previous run'), 'in the files');
  assert.ok(th.host.control.logs('host').some((r) => r.msg === 'host stopped'), 'the host log too');
  const c = await connect();
  const fid = await openPath(c, '/modules/talker/log');
  try {
    const { text } = await readToZero(c, fid);
    assert.match(text, /marker from the previous run\n(.*\n)*.*talker up\n/, 'the previous run, then this run');
  } finally {
    await c.clunk(fid);
  }
  assert.ok((await query(c, 'level=warn')).some((r) => r.msg === 'marker from the previous run'));
});

test.run();
