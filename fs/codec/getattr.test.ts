// encodeRgetattrNumbers (the server's Rgetattr from numbers) against the reference encoder (the
// Writer, from the BigInt message), and its range checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, decode, encode, encodeRgetattrNumbers } from './index.ts';
import type { GetattrNumbers } from './index.ts';

const f: GetattrNumbers = {
  valid: 0x7ff, qid: { type: 0x80, version: 7, path: 0x1234_5678_9abc_def0n }, mode: 0o40755, uid: 1000, gid: 100,
  nlink: 3, rdev: 0, size: 0x1_0000_0001n, blksize: 4096, blocks: 8_388_609, atimeSec: 1_700_000_000, atimeNsec: 999_999_999,
  mtimeSec: 2 ** 40, mtimeNsec: 1, ctimeSec: Number.MAX_SAFE_INTEGER, ctimeNsec: 0, btimeSec: 0, btimeNsec: 0, gen: 5, dataVersion: 2 ** 33,
};

test('the same bytes as the reference encoder, and decodes back', () => {
  const big = (n: number) => BigInt(n);
  const ref = encode({
    type: 'Rgetattr', tag: 0xbeef, valid: big(f.valid), qid: f.qid, mode: f.mode, uid: f.uid, gid: f.gid, nlink: big(f.nlink),
    rdev: big(f.rdev), size: f.size, blksize: big(f.blksize), blocks: big(f.blocks), atimeSec: big(f.atimeSec),
    atimeNsec: big(f.atimeNsec), mtimeSec: big(f.mtimeSec), mtimeNsec: big(f.mtimeNsec), ctimeSec: big(f.ctimeSec),
    ctimeNsec: big(f.ctimeNsec), btimeSec: 0n, btimeNsec: 0n, gen: big(f.gen), dataVersion: big(f.dataVersion),
  }, '9P2000.L');
  const ours = encodeRgetattrNumbers(0xbeef, f);
  assert.is(ours.toString('hex'), ref.toString('hex'));
  const m = decode(ours, '9P2000.L');
  assert.is(m.type, 'Rgetattr');
  assert.is((m as { ctimeSec: bigint }).ctimeSec, BigInt(Number.MAX_SAFE_INTEGER));
});

test('out-of-range fields are a CodecError naming the field', () => {
  const bad = (patch: Partial<GetattrNumbers>, field: string, tag = 1): void => {
    try {
      encodeRgetattrNumbers(tag, { ...f, ...patch });
      assert.unreachable(`${field} accepted`);
    } catch (err) {
      assert.instance(err, CodecError);
      assert.match((err as Error).message, `Rgetattr.${field}:`);
    }
  };
  bad({ nlink: -1 }, 'nlink');
  bad({ blocks: 1.5 }, 'blocks');
  bad({ mtimeSec: 2 ** 53 }, 'mtimeSec');
  bad({ mode: 2 ** 32 }, 'mode');
  bad({ size: -1n }, 'size');
  bad({ qid: { type: 256, version: 0, path: 0n } }, 'qid.type');
  bad({}, 'tag', 0x10000);
});

test.run();
