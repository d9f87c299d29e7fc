// Bounded live-session fuzz (seeded): random, mutated, truncated and oversized frames, NUL in
// names, deep walks. More on demand: tsx fs/server/fuzz.ts 100000 [seed]
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzOnce } from './fuzz.ts';

test('3000 fuzzed frames: no crash, every connection answered or closed, a fresh one works', async () => {
  const before = process.memoryUsage().rss;
  const r = await fuzzOnce(3000, 0x5eed);
  assert.ok(r.frames >= 3000, JSON.stringify(r));
  assert.ok(r.clean > 10 && r.dirty > 3, `both kinds exercised: ${JSON.stringify(r)}`);
  assert.is(r.faults, 0, `no tree faults (every error was a deliberate 9P error): ${r.faultSamples.join('\n')}`);
  const grown = process.memoryUsage().rss - before;
  assert.ok(grown < 300 * 1024 * 1024, `rss grew by ${grown} bytes`);
});

test('a second seed', async () => {
  const r = await fuzzOnce(1500, 424242);
  assert.ok(r.frames >= 1500);
  assert.is(r.faults, 0);
});

test.run();
