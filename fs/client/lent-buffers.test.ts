// fs/client/lent-buffers.ts: when a read buffer goes back to the pool, and when it must not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ChunkPool } from '../../base/bytes/chunk-pool.ts';
import { LentBuffers } from './lent-buffers.ts';

function setup(): { pool: ChunkPool; lent: LentBuffers } {
  const pool = new ChunkPool(4096, 1 << 20);
  return { pool, lent: new LentBuffers(pool) };
}

test('back to the pool once retired and every lent view recycled, in either order', () => {
  const { pool, lent } = setup();
  try {
    const buf = lent.take();
    const v1 = buf.subarray(0, 10);
    const v2 = buf.subarray(10, 20);
    lent.lend(v1);
    lent.lend(v2);
    lent.recycle(v1);
    lent.retire(buf);
    assert.is(pool.held, 0, 'v2 is still out');
    lent.recycle(v2);
    assert.is(pool.held, 1);
    assert.is(lent.tracked, 0);
    const again = lent.take();
    assert.is(again, buf, 'reused');
    lent.retire(again);
    assert.is(pool.held, 1, 'nothing lent: back at once');
  } finally {
    pool.close();
  }
});

test('a view recycled twice counts once; a view of another buffer is ignored', () => {
  const { pool, lent } = setup();
  try {
    const buf = lent.take();
    const v1 = buf.subarray(0, 10);
    const v2 = buf.subarray(0, 10);
    lent.lend(v1);
    lent.lend(v2);
    lent.retire(buf);
    lent.recycle(v1);
    lent.recycle(v1);
    lent.recycle(Buffer.alloc(10));
    assert.is(pool.held, 0, 'v2 is still out');
    lent.recycle(v2);
    assert.is(pool.held, 1);
  } finally {
    pool.close();
  }
});

test('a buffer with a view that will not come back is left to the GC, never pooled', () => {
  const { pool, lent } = setup();
  try {
    const buf = lent.take();
    const v = buf.subarray(0, 10);
    lent.lend(v);
    lent.disown(buf.buffer);
    lent.retire(buf);
    lent.recycle(v);
    assert.is(pool.held, 0);
    assert.is(lent.tracked, 0, 'forgotten');
  } finally {
    pool.close();
  }
});

test('a caller that never recycles: tracking stays bounded and nothing is pooled from it', () => {
  const { pool, lent } = setup();
  try {
    for (let i = 0; i < 500; i++) {
      const buf = lent.take();
      lent.lend(buf.subarray(0, 1));
      lent.retire(buf);
    }
    assert.ok(lent.tracked <= 65, `tracked ${lent.tracked}`);
    assert.is(pool.held, 0);
  } finally {
    pool.close();
  }
});

test.run();
