// Bounded fuzz (seeded, reproducible): decode only ever returns or throws CodecError, and what
// decodes re-encodes byte for byte. More cases on demand: tsx fs/codec/fuzz.ts 1000000 [seed]
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, DIALECTS, decode } from './index.ts';
import { prng, runFuzz } from './fuzz.ts';

test('20,000 random and mutated frames', () => {
  const r = runFuzz(20_000, 0xc0ffee);
  assert.is(r.cases, 20_000);
  assert.ok(r.decoded > 2000 && r.rejected > 2000, `both paths exercised: ${JSON.stringify(r)}`);
  assert.ok(r.ms < 5000, `took ${r.ms} ms`);
});

test('5,000 frames of pure noise with a correct size field', () => {
  const rnd = prng(99);
  for (let i = 0; i < 5000; i++) {
    const b = new Uint8Array(7 + Math.floor(rnd() * 60));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
    new DataView(b.buffer).setUint32(0, b.length, true);
    for (const d of DIALECTS) {
      try { decode(b, d); } catch (err) {
        if (!(err instanceof CodecError)) assert.unreachable(`${Buffer.from(b).toString('hex')}: ${String(err)}`);
      }
    }
  }
});

test.run();
