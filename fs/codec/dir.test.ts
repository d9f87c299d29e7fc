// Directory-read helpers: 9P2000 stat entries and .L dirents pack whole entries only.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CodecError, decode, decodeDirents, decodeStats, direntSize, encode, encodeDirents, encodeStat, nullStat,
  packDirents, packStats, statSize,
} from './index.ts';
import type { Dirent, Stat } from './index.ts';

const stat = (name: string): Stat => ({
  type: 0, dev: 0, qid: { type: 0, version: 1, path: 7n }, mode: 0o644, atime: 1, mtime: 2, length: 3n,
  name, uid: 'glenda', gid: 'glenda', muid: '',
});
const dirent = (name: string, offset: bigint): Dirent => ({ qid: { type: 0, version: 0, path: offset }, offset, type: 8, name });

test('statSize matches the encoding, in bytes of UTF-8', () => {
  for (const s of [stat(''), stat('ñandú'), nullStat(), nullStat('9P2000.u')]) {
    assert.is(encodeStat(s).length, statSize(s));
  }
  assert.is(statSize(stat('é')) - statSize(stat('e')), 1);
});

test('packStats takes whole entries up to the count and decodes back', () => {
  const all = ['a', 'bb', 'ccc', 'dddd'].map(stat);
  const one = statSize(all[0]!);
  const p = packStats(all, one * 2 + 3);
  assert.is(p.count, 2);
  assert.is(p.data.length, statSize(all[0]!) + statSize(all[1]!));
  assert.equal(decodeStats(p.data, '9P2000'), all.slice(0, 2));
  assert.is(packStats(all, one - 1).count, 0);
  const every = packStats(all, 1 << 20);
  assert.is(every.count, 4);
  // As the data of an Rread.
  const r = decode(encode({ type: 'Rread', tag: 1, data: every.data }), '9P2000');
  assert.equal(decodeStats(r.type === 'Rread' ? r.data : new Uint8Array(), '9P2000'), all);
});

test('.u stats carry the extension tail', () => {
  const s: Stat = { ...stat('link'), dotu: { extension: 'target', nUid: 1000, nGid: 100, nMuid: 0xffffffff } };
  assert.equal(decodeStats(encodeStat(s), '9P2000.u'), [s]);
  assert.throws(() => decodeStats(encodeStat(stat('x')), '9P2000.u'), (e: unknown) => e instanceof CodecError);
});

test('dirents: size, pack whole entries, decode', () => {
  const ds = [dirent('.', 1n), dirent('..', 2n), dirent('file', 3n), dirent('日本', 4n)];
  assert.is(direntSize(ds[2]!), 13 + 8 + 1 + 2 + 4);
  assert.is(encodeDirents(ds).length, ds.reduce((n, d) => n + direntSize(d), 0));
  const p = packDirents(ds, direntSize(ds[0]!) + direntSize(ds[1]!) + 5);
  assert.is(p.count, 2);
  assert.equal(decodeDirents(p.data), ds.slice(0, 2));
  assert.equal(decodeDirents(encodeDirents(ds)), ds);
  assert.equal(decodeDirents(new Uint8Array(0)), []);
});

test('a partial trailing entry is a CodecError', () => {
  const d = encodeDirents([dirent('abc', 1n)]);
  for (let len = 1; len < d.length; len++) {
    assert.throws(() => decodeDirents(d.subarray(0, len)), (e: unknown) => e instanceof CodecError && e.kind === 'truncated');
  }
  const s = encodeStat(stat('abc'));
  for (let len = 1; len < s.length; len++) {
    assert.throws(() => decodeStats(s.subarray(0, len), '9P2000'), (e: unknown) => e instanceof CodecError);
  }
});

test('nullStat is all "don\'t touch" values and survives Twstat', () => {
  const n = nullStat();
  assert.is(n.mode, 0xffffffff);
  assert.is(n.length, 0xffffffffffffffffn);
  assert.is(n.name, '');
  const m = { type: 'Twstat', tag: 1, fid: 3, stat: n } as const;
  assert.equal(decode(encode(m, '9P2000'), '9P2000'), m);
});

test.run();
