// SynStream (the log files' stream): every read size delivers every byte once, in order, across
// chunk boundaries, from the retained history and from lines appended while a reader waits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SynStream } from './synthetic.ts';
import type { OpenMode } from './types.ts';

const READ: OpenMode = { read: true, write: false, truncate: false, append: false };

const lines = Array.from({ length: 40 }, (_, i) => `line ${i} ${'x'.repeat((i * 7) % 23)}`);
const whole = lines.map((l) => `${l}\n`).join('');

async function readAll(s: SynStream, count: number, bytes: number): Promise<string> {
  const h = s.open(READ);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 2_000);
  const out: Uint8Array[] = [];
  let got = 0;
  try {
    while (got < bytes) {
      const b = await h.read!(0n, count, ac.signal);
      assert.ok(b.length <= count, `a read of ${count} returned ${b.length} bytes`);
      out.push(b);
      got += b.length;
    }
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(out).toString('utf8');
}

test('the retained history comes out whole and in order for every read size', async () => {
  const s = new SynStream('log');
  for (const l of lines) s.append(l);
  for (const count of [1, 2, 3, 7, 13, 64, 100, 4096]) {
    assert.is(await readAll(s, count, whole.length), whole, `read size ${count}`);
  }
});

test('lines appended while a reader waits arrive whole, also when the reads straddle them', async () => {
  const s = new SynStream('log');
  const reading = readAll(s, 5, whole.length);
  for (const l of lines) {
    s.append(l);
    await new Promise((r) => setImmediate(r));
  }
  assert.is(await reading, whole);
});

test('history beyond the retention is dropped from the front, never from the middle', async () => {
  const s = new SynStream('log', { history: 100 });
  for (const l of lines) s.append(l);
  const h = s.open(READ);
  const first = await h.read!(0n, 1 << 16, new AbortController().signal);
  const text = Buffer.from(first).toString('utf8');
  assert.ok(whole.endsWith(text), 'what is kept is the tail of what was written');
  assert.ok(text.startsWith('line '), 'kept from a line start');
});

test.run();
