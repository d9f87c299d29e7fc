// The log store (core/logs) on a real temp dir: JSON lines per instance under file-safe names,
// rotation at the size cap keeping maxFiles, reads of the files filtered (since, level, limit) and
// exact at the seam with live records, the in-memory tail reloaded from the files by a new store
// (a restart), a bounded number of descriptors for 1,000 instances, idle descriptors closed, and
// cheshire.json's `logs` validated.
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LogHub } from '../../core/log.ts';
import { LogStore } from '../../core/logs/store.ts';
import { parseLogRequest, parseSince } from '../../core/logs/query.ts';
import { parseNodeConfig } from '../../core/config/node-config.ts';
import type { LogRecord } from '../../core/types.ts';
import { waitFor } from '../helpers/project.ts';
import { fdsUnder } from '../helpers/fds.ts';

const dirs: string[] = [];
const stores: LogStore[] = [];

test.after.each(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'chs-logs-'));
  dirs.push(d);
  return d;
}

function newStore(fd?: { max?: number; idleMs?: number }): LogStore {
  const s = new LogStore(fd);
  stores.push(s);
  return s;
}

let clock = 1_700_000_000_000;
/** A record as pino writes it (level and time first), with its JSON line. */
function rec(module: string, msg: string, level = 30, time = clock++): [LogRecord, string] {
  const r: LogRecord = { level, time, module, msg };
  return [r, JSON.stringify({ level, time, module, msg })];
}
const add = (s: LogStore, module: string, msg: string, level?: number, time?: number): void => s.add(...rec(module, msg, level, time));
const msgs = (rs: readonly LogRecord[]) => rs.map((r) => r.msg);

test('records become JSON lines in <dir>/<id>.log, named file-safe (# and @ encoded)', async () => {
  const dir = await tempDir();
  const s = newStore();
  s.attach(dir);
  add(s, 'greeter#fr', 'bonjour');
  add(s, 'hello@beta', 'hi');
  add(s, 'host', 'node up');
  await s.flush();
  assert.equal((await readdir(dir)).sort(), ['greeter%23fr.log', 'hello%40beta.log', 'host.log']);
  const line = JSON.parse((await readFile(join(dir, 'greeter%23fr.log'), 'utf8')).trim()) as LogRecord;
  assert.is(line.msg, 'bonjour');
  assert.is(line.module, 'greeter#fr');
});

test('records logged before attach are written once the directory is known', async () => {
  const dir = await tempDir();
  const s = newStore();
  add(s, 'host', 'early');
  s.attach(dir);
  add(s, 'host', 'later');
  await s.flush();
  assert.equal((await readFile(join(dir, 'host.log'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as LogRecord).msg), ['early', 'later']);
});

test('rotation at the size cap keeps maxFiles files (the current one included), none over the cap, newest in the current file', async () => {
  const dir = await tempDir();
  const s = newStore();
  s.attach(dir, { maxBytes: 2048, maxFiles: 3 });
  for (let i = 0; i < 200; i++) {
    add(s, 'chatty', `message ${String(i).padStart(3, '0')} ${'x'.repeat(40)}`);
    if (i % 17 === 0) await s.flush(); // several batches, as a live node writes them
  }
  await s.flush();
  const files = (await readdir(dir)).sort();
  assert.equal(files, ['chatty.log', 'chatty.log.1', 'chatty.log.2']);
  for (const f of files) assert.ok((await stat(join(dir, f))).size <= 2048, `${f} is within the cap`);
  const read = async (f: string) => (await readFile(join(dir, f), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as LogRecord).msg);
  const all = [...(await read('chatty.log.2')), ...(await read('chatty.log.1')), ...(await read('chatty.log'))];
  assert.ok(all.at(-1)!.startsWith('message 199'), 'the newest record is last in the current file');
  const numbers = all.map((m) => Number(m.split(' ')[1]));
  assert.equal(numbers, numbers.map((_, i) => numbers[0]! + i), 'the kept records are consecutive: oldest dropped whole, from the front');
  // the files hold what the store reads back
  assert.equal(msgs(await s.read('chatty')), all);
});

test('read filters by since, level and limit over every file; bad query text is refused with CHS_ERR_LOG_QUERY', async () => {
  const dir = await tempDir();
  const s = newStore();
  s.attach(dir, { maxBytes: 1024, maxFiles: 10 });
  for (let i = 0; i < 60; i++) add(s, 'm', `r${i}`, i % 3 === 0 ? 50 : 30, 1_000_000 + i * 1000);
  await s.flush();
  assert.ok((await readdir(dir)).length > 1, 'spread over several files');
  const errors = await s.read('m', { level: 50 });
  assert.equal(msgs(errors), Array.from({ length: 20 }, (_, i) => `r${i * 3}`));
  assert.equal(msgs(await s.read('m', { since: 1_000_000 + 55_000 })), ['r55', 'r56', 'r57', 'r58', 'r59']);
  assert.equal(msgs(await s.read('m', { limit: 3 })), ['r57', 'r58', 'r59']);
  assert.equal(msgs(await s.read('m', { level: 40, limit: 2 })), ['r54', 'r57']);
  assert.equal(msgs(s.recent('m', { level: 50, limit: 1 })), ['r57'], 'the in-memory tail takes the same query');
  assert.equal(await s.read('nobody'), []);
  const req = parseLogRequest('since=10m level=warn limit=5 follow', 1_000_000_000);
  assert.equal(req, { follow: true, since: 1_000_000_000 - 600_000, level: 40, limit: 5 });
  assert.is(parseSince('2024-05-01T00:00:00Z'), Date.UTC(2024, 4, 1));
  for (const bad of ['since=soon', 'level=loud', 'limit=0', 'tail']) {
    assert.throws(() => parseLogRequest(bad), /CHS_ERR_LOG_QUERY/, bad);
  }
});

test('a read holds exactly the records logged before it; those after come live, none twice', async () => {
  const dir = await tempDir();
  const hub = new LogHub(null, false, newStore());
  hub.attach(dir);
  const line = (msg: string) => hub.write(rec('seam', msg)[1]);
  for (let i = 0; i < 50; i++) line(`before ${i}`);
  const live: string[] = [];
  hub.on('record', (r) => live.push(r.msg));
  const reading = hub.read('seam');
  for (let i = 0; i < 50; i++) line(`after ${i}`);
  const history = msgs(await reading);
  assert.equal(history, Array.from({ length: 50 }, (_, i) => `before ${i}`));
  assert.equal(live, Array.from({ length: 50 }, (_, i) => `after ${i}`));
  assert.is((await hub.read('seam')).length, 100);
});

test('a new store on the same directory (a restart) has the earlier records in its tail, and new ones after them', async () => {
  const dir = await tempDir();
  const first = newStore();
  first.attach(dir);
  for (let i = 0; i < 10; i++) add(first, 'hello', `run 1 #${i}`);
  await first.close();
  const second = newStore();
  second.attach(dir);
  add(second, 'hello', 'run 2 #0');
  assert.equal(msgs(second.recent('hello')), [...Array.from({ length: 10 }, (_, i) => `run 1 #${i}`), 'run 2 #0']);
  assert.equal(msgs(await second.read('hello')).slice(-2), ['run 1 #9', 'run 2 #0']);
  // a tail made before attach gets the file's history in front of it
  const third = newStore();
  add(third, 'hello', 'run 3 #0');
  third.attach(dir);
  assert.equal(msgs(third.recent('hello')).slice(-3), ['run 1 #9', 'run 2 #0', 'run 3 #0']);
});


test('1,000 instances logging at once hold at most the cache\'s descriptors (64), every record written', async () => {
  const dir = await tempDir();
  const s = newStore();
  s.attach(dir);
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 1000; i++) add(s, `inst#${i}`, `round ${round}`);
    await s.flush();
    assert.ok(s.openFiles <= 64, `open for writing: ${s.openFiles}`);
    assert.ok((await fdsUnder(dir)) <= 64, `descriptors under the log dir: ${await fdsUnder(dir)}`);
  }
  assert.is((await readdir(dir)).length, 1000);
  assert.equal(msgs(await s.read('inst#999')), ['round 0', 'round 1', 'round 2']);
  await s.close();
  assert.is(await fdsUnder(dir), 0, 'close() releases them all');
});

test('descriptors idle for idleMs are closed; a later record opens its file again', async () => {
  const dir = await tempDir();
  const s = newStore({ max: 8, idleMs: 40 });
  s.attach(dir);
  for (let i = 0; i < 20; i++) add(s, `i${i}`, 'one');
  await s.flush();
  assert.ok(s.openFiles <= 8);
  await waitFor('idle descriptors to close', () => s.openFiles === 0, 5_000);
  add(s, 'i0', 'two');
  await s.flush();
  assert.equal(msgs(await s.read('i0')), ['one', 'two']);
});

test('cheshire.json `logs`: defaults, and a bad value refused naming the key', () => {
  assert.equal(parseNodeConfig({}, 'cheshire.json').logs, { maxBytes: 5 * 1024 * 1024, maxFiles: 5 });
  assert.equal(parseNodeConfig({ logs: { maxFiles: 2 } }, 'cheshire.json').logs, { maxBytes: 5 * 1024 * 1024, maxFiles: 2 });
  assert.throws(() => parseNodeConfig({ logs: { maxBytes: 10 } }, 'cheshire.json'), /CHS_ERR_CONFIG_INVALID: cheshire\.json: .*logs\/maxBytes/);
  assert.throws(() => parseNodeConfig({ logs: { maxFiles: 0 } }, 'cheshire.json'), /logs\/maxFiles/);
  assert.throws(() => parseNodeConfig({ logs: { rotate: true } }, 'cheshire.json'), /CHS_ERR_CONFIG_INVALID/);
});

test.run();
