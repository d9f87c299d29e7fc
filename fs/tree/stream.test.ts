// Stream files (stream.ts): the plain file is a growing file whose offsets mean something (every
// read size delivers every byte once, in order; at or past the end 0 bytes at once; its length is
// what was appended); the follow view waits at the end, except right after a read that returned
// data; a reader below the kept bytes continues from the oldest kept byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stream, SynStream } from './stream.ts';
import type { Handle, OpenMode } from './types.ts';

const READ: OpenMode = { read: true, write: false, truncate: false, append: false };
const never = new AbortController().signal;

const lines = Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat((i * 7) % 23)}`);
const whole = lines.map((l) => `${l}\n`).join('');
const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');

/** Reads `h` from `offset` until a 0-byte read, like the Linux client: offsets advance by what came. */
async function readToEnd(h: Handle, count: number, offset = 0n): Promise<string> {
  const out: Uint8Array[] = [];
  for (;;) {
    const b = await h.read!(offset, count, never);
    assert.ok(b.length <= count, `a read of ${count} returned ${b.length} bytes`);
    if (b.length === 0) return Buffer.concat(out).toString('utf8');
    out.push(b);
    offset += BigInt(b.length);
  }
}

/** Resolves to 'pending' if `p` has not settled by the next macrotask turns. */
async function pending(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => { settled = true; }, () => { settled = true; });
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  return !settled;
}

test('the plain file: every read size delivers every byte once, in order, and ends with a 0-byte read', async () => {
  const s = new SynStream('log');
  for (const l of lines) s.append(l);
  for (const count of [1, 2, 3, 7, 13, 64, 100, 4096]) {
    assert.is(await readToEnd(s.open(READ), count), whole, `read size ${count}`);
  }
});

test('the plain file: its length is what was appended; reading at or past the end answers 0 bytes at once', async () => {
  const s = stream('log');
  const v = s.qid.version;
  s.append('one');
  assert.is(s.getattr().size, 4n);
  assert.is.not(s.qid.version, v, 'qid.version changes with the content');
  const h = s.open(READ);
  assert.is((h.read!(4n, 100, never) as Uint8Array).length, 0, 'at the end');
  assert.is((h.read!(1000n, 100, never) as Uint8Array).length, 0, 'past the end');
  assert.ok(h.ignoresSignal, 'it never waits, so it needs no abort signal');
});

test('the plain file: after new lines, a read from the old end returns exactly them (tail -f polling)', async () => {
  const s = stream('log');
  s.append('old');
  const h = s.open(READ);
  const end = s.getattr().size;
  assert.is(await readToEnd(h, 100), 'old\n');
  s.append('new one');
  s.append('new two');
  assert.is(await readToEnd(h, 100, end), 'new one\nnew two\n');
  assert.is(s.getattr().size, end + 16n);
});

test('the follow view: same bytes and length; waits at the end; 0 bytes at once right after data; then waits again', async () => {
  const s = stream('log');
  const f = s.follower();
  assert.is(f.name, 'log.follow');
  assert.is(s.follower(), f, 'one follow node per stream');
  s.append('first');
  assert.is(f.getattr().size, 6n);
  const h = f.open(READ);
  assert.is(text(await h.read!(0n, 100, never)), 'first\n');
  assert.is((await h.read!(6n, 100, never)).length, 0, 'the read continuing right after data gets 0 at once');
  const next = h.read!(6n, 100, never);
  assert.ok(await pending(next as Promise<unknown>), 'the next read at the end waits');
  assert.is(s.blockedReaders, 1);
  s.append('second');
  assert.is(text(await next), 'second\n');
  assert.is(s.blockedReaders, 0);
});

test('the follow view: a reader looping until a 0-byte read (the Linux client) gets the whole backlog and returns', async () => {
  const s = stream('log');
  for (const l of lines) s.append(l);
  for (const count of [5, 64, 4096]) {
    assert.is(await readToEnd(s.follower().open(READ), count), whole, `read size ${count}`);
  }
});

test('the follow view: data continuing across reads keeps coming; only the end answers 0', async () => {
  const s = stream('log');
  const h = s.follower().open(READ);
  const waiting = h.read!(0n, 4, never);
  s.append('abcdefgh');
  assert.is(text(await waiting), 'abcd');
  assert.is(text(await h.read!(4n, 4, never)), 'efgh');
  assert.is(text(await h.read!(8n, 4, never)), '\n');
  assert.is((await h.read!(9n, 4, never)).length, 0);
});

test('the follow view: an aborted wait rejects and consumes nothing; finish() ends waits with 0 bytes, twice in a row', async () => {
  const s = stream('log');
  const h = s.follower().open(READ);
  const ac = new AbortController();
  const waiting = h.read!(0n, 100, ac.signal) as Promise<Uint8Array>;
  ac.abort();
  await waiting.then(() => assert.unreachable('resolved'), () => undefined);
  assert.is(s.blockedReaders, 0);
  s.append('kept');
  assert.is(text(await h.read!(0n, 100, never)), 'kept\n');
  const more = h.read!(5n, 100, never);
  assert.is((await more).length, 0);
  const last = h.read!(5n, 100, never);
  s.finish();
  assert.is((await last).length, 0);
  assert.is((await h.read!(5n, 100, never)).length, 0);
});

test('removing the stream or its follow view wakes waiting follow reads with ESTALE', async () => {
  for (const which of ['stream', 'follow'] as const) {
    const s = stream('log');
    const f = s.follower();
    const waiting = f.open(READ).read!(0n, 100, never) as Promise<Uint8Array>;
    (which === 'stream' ? s : f).markRemoved();
    const err = await waiting.then(() => undefined, (e: unknown) => e);
    assert.match(String((err as Error)?.message), /removed/, `${which} removed`);
  }
});

test('history beyond the retention is dropped whole from the front; a read below it continues from the oldest kept line', async () => {
  const s = new SynStream('log', { history: 100 });
  for (const l of lines) s.append(l);
  assert.is(s.getattr().size, BigInt(Buffer.byteLength(whole)), 'the length still counts every byte');
  const h = s.open(READ);
  const kept = await readToEnd(h, 17);
  assert.ok(whole.endsWith(kept), 'what is kept is the tail of what was written');
  assert.ok(kept.startsWith('line '), 'kept from a line start');
  assert.ok(kept.length < whole.length);
  // the fid trails the file's offsets by what was dropped: new lines still come exactly once
  s.append('after');
  assert.is(await readToEnd(h, 17, BigInt(Buffer.byteLength(kept))), 'after\n');
});

test.run();
