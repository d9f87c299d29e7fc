// Reader/Writer primitives: little-endian, bounds-checked, strings validated both ways.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, Reader, Writer, toSafeNumber } from './index.ts';

const isCodec = (kind: string) => (e: unknown) => e instanceof CodecError && e.kind === kind;

test('integers are little-endian and u64 is a bigint', () => {
  const w = new Writer(1);
  w.u8(0xab, 'a'); w.u16(0x1234, 'b'); w.u32(0xdeadbeef, 'c'); w.u64(0x0102030405060708n, 'd');
  const b = w.finish();
  assert.is(b.toString('hex'), 'ab3412efbeadde0807060504030201');
  const r = new Reader(b);
  assert.is(r.u8('a'), 0xab);
  assert.is(r.u16('b'), 0x1234);
  assert.is(r.u32('c'), 0xdeadbeef);
  assert.is(r.u64('d'), 0x0102030405060708n);
  r.end();
});

test('reads past the end name the field and the offset', () => {
  const r = new Reader(new Uint8Array([1, 2, 3]));
  r.u16('first');
  try {
    r.u32('second');
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof CodecError);
    assert.is(e.kind, 'truncated');
    assert.match(e.reason, 'second: needs 4 bytes at offset 2, only 1 left');
    assert.is(e.offset, 2);
  }
  assert.throws(() => new Reader(new Uint8Array([5, 0, 1])).str('s'), isCodec('truncated'));
  assert.throws(() => new Reader(new Uint8Array([9, 0, 0, 0])).data('d'), isCodec('truncated'));
  assert.throws(() => new Reader(new Uint8Array(12)).qid('q'), isCodec('truncated'));
});

test('a Reader over a slice of a larger buffer stays inside the slice', () => {
  const big = new Uint8Array([9, 9, 2, 0, 0x68, 0x69, 9, 9]);
  const r = new Reader(big.subarray(2, 6));
  assert.is(r.str('s'), 'hi');
  assert.is(r.remaining, 0);
  assert.throws(() => r.u8('x'), isCodec('truncated'));
});

test('data is a view into the frame', () => {
  const frame = new Uint8Array([2, 0, 0, 0, 7, 8]);
  const d = new Reader(frame).data('d');
  assert.equal([...d], [7, 8]);
  frame[4] = 1;
  assert.is(d[0], 1);
});

test('strings: NUL, invalid UTF-8 and lone surrogates are refused in both directions', () => {
  assert.throws(() => new Reader(new Uint8Array([1, 0, 0])).str('s'), isCodec('string'));
  assert.throws(() => new Reader(new Uint8Array([2, 0, 0xc3, 0x28])).str('s'), isCodec('string'));
  assert.throws(() => new Writer().str('a\0', 's'), isCodec('string'));
  assert.throws(() => new Writer().str('\uDC00x', 's'), isCodec('string'));
  assert.throws(() => new Writer().str('x'.repeat(70000), 's'), isCodec('encode'));
  const w = new Writer();
  w.str('😀', 's');
  assert.is(w.finish().toString('hex'), '0400f09f9880');
});

test('the Writer grows past its initial capacity and finish() is exact', () => {
  const w = new Writer(16);
  for (let i = 0; i < 1000; i++) w.u32(i, 'i');
  w.str('tail', 't');
  const b = w.finish();
  assert.is(b.length, 4006);
  assert.is(b.readUInt32LE(999 * 4), 999);
});

test('out-of-range values are refused', () => {
  assert.throws(() => new Writer().u8(256, 'x'), isCodec('encode'));
  assert.throws(() => new Writer().u16(-1, 'x'), isCodec('encode'));
  assert.throws(() => new Writer().u32(NaN, 'x'), isCodec('encode'));
  assert.throws(() => new Writer().u64(2n ** 64n, 'x'), isCodec('encode'));
  assert.throws(() => new Writer().u64(5 as unknown as bigint, 'x'), isCodec('encode'));
});

test('toSafeNumber', () => {
  assert.is(toSafeNumber(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER);
  assert.throws(() => toSafeNumber(2n ** 53n, 'offset'), (e: unknown) => e instanceof CodecError && /offset/.test(e.reason));
  assert.is(new Reader(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0])).u64n('n'), 5);
});

test.run();
