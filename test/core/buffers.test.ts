// core/sdk/skewed-buffer.ts and core/sdk/chunk-pool.ts: where pooled file-data buffers sit in
// their allocation (2 KiB in, away from a page start: see skewed-buffer.ts for why), and the
// pool's reuse rules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChunkPool } from '../../base/bytes/chunk-pool.ts';
import { SKEW, skewedBuffer } from '../../base/bytes/skewed-buffer.ts';

test('skewedBuffer: the asked size, SKEW bytes into an allocation of its own', () => {
  const b = skewedBuffer(256 << 10);
  assert.is(b.length, 256 << 10);
  assert.is(b.byteOffset, SKEW);
  assert.is(b.buffer.byteLength, (256 << 10) + SKEW, 'not a slice of a shared pool');
  assert.ok(SKEW % 4096 >= 64 && SKEW % 4096 <= 4096 - 64, 'far from a page start');
});

test('ChunkPool: skewed buffers, reused after give, others refused', () => {
  const pool = new ChunkPool(64 << 10, 3 * (64 << 10));
  try {
    const a = pool.take();
    assert.is(a.length, 64 << 10);
    assert.is(a.byteOffset, SKEW);
    pool.give(a);
    assert.is(pool.take(), a, 'the same buffer comes back');
    pool.give(Buffer.alloc(100));
    assert.is(pool.held, 0, 'a buffer of another size is not kept');
    const more = [pool.take(), pool.take(), pool.take(), pool.take()];
    for (const b of more) pool.give(b);
    assert.is(pool.held, 3, 'bounded by maxBytes');
  } finally {
    pool.close();
  }
});

test.run();
