// Hostile and broken frames: every one must end in a CodecError of the right kind (never another
// exception), carrying the tag whenever the 7-byte header was readable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, decode, encode, nullStat } from './index.ts';
import type { Dialect, Msg } from './index.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function codecError(frame: Uint8Array, dialect: Dialect): CodecError {
  try {
    decode(frame, dialect);
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw new Error(`non-CodecError for ${Buffer.from(frame).toString('hex')}: ${String(err)}`);
  }
  throw new Error(`decoded without error: ${Buffer.from(frame).toString('hex')}`);
}

function withSize(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b);
  if (c.length >= 4) new DataView(c.buffer).setUint32(0, c.length, true);
  return c;
}

const qid = { type: 0x80, version: 3, path: 99n };
const SAMPLES: Array<[Dialect, Msg]> = [
  ['9P2000.L', { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' }],
  ['9P2000', { type: 'Twalk', tag: 9, fid: 1, newfid: 2, wnames: ['a', 'bb', 'ccc'] }],
  ['9P2000', { type: 'Rwalk', tag: 9, wqids: [qid, qid] }],
  ['9P2000.L', { type: 'Tattach', tag: 9, fid: 1, afid: 0xffffffff, uname: 'root', aname: '/', nUname: 0 }],
  ['9P2000', { type: 'Twrite', tag: 9, fid: 1, offset: 10n, data: new Uint8Array([1, 2, 3]) }],
  ['9P2000', { type: 'Rread', tag: 9, data: new Uint8Array([1, 2, 3, 4]) }],
  ['9P2000', { type: 'Rstat', tag: 9, stat: { ...nullStat(), name: 'n', uid: 'u' } }],
  ['9P2000.u', { type: 'Twstat', tag: 9, fid: 4, stat: nullStat('9P2000.u') }],
  ['9P2000.u', { type: 'Tcreate', tag: 9, fid: 4, name: 'x', perm: 0o755, mode: 1, extension: 'l' }],
  ['9P2000.L', { type: 'Tlcreate', tag: 9, fid: 4, name: 'file', flags: 0o101, mode: 0o644, gid: 5 }],
  ['9P2000.L', { type: 'Rgetattr', tag: 9, valid: 0x7ffn, qid, mode: 0o100644, uid: 1, gid: 2, nlink: 1n, rdev: 0n,
    size: 5n, blksize: 4096n, blocks: 1n, atimeSec: 1n, atimeNsec: 2n, mtimeSec: 3n, mtimeNsec: 4n, ctimeSec: 5n,
    ctimeNsec: 6n, btimeSec: 0n, btimeNsec: 0n, gen: 0n, dataVersion: 0n }],
  ['9P2000.L', { type: 'Tlock', tag: 9, fid: 1, lockType: 1, flags: 1, start: 0n, length: 0n, procId: 77, clientId: 'host' }],
  ['9P2000.L', { type: 'Trenameat', tag: 9, olddirfid: 1, oldname: 'a', newdirfid: 2, newname: 'b' }],
  ['9P2000.L', { type: 'Rreaddir', tag: 9, data: new Uint8Array(30) }],
];

test('truncated at every length (size left as is): CodecError, with the tag once the header is there', () => {
  for (const [dialect, msg] of SAMPLES) {
    const frame = encode(msg, dialect);
    for (let len = 0; len < frame.length; len++) {
      const err = codecError(frame.subarray(0, len), dialect);
      assert.is(err.kind, 'size', `${msg.type} at ${len}`);
      assert.is(err.tag, len >= 7 ? msg.tag : undefined, `${msg.type} tag at ${len}`);
    }
  }
});

test('truncated at every length with size[4] patched to match: the body parser says truncated', () => {
  for (const [dialect, msg] of SAMPLES) {
    const frame = encode(msg, dialect);
    for (let len = 7; len < frame.length; len++) {
      const err = codecError(withSize(frame.subarray(0, len)), dialect);
      // A field or a count that no longer fits: 'truncated', whatever the message.
      assert.is(err.kind, 'truncated', `${msg.type} at ${len}: ${err.reason}`);
      assert.is(err.tag, msg.tag);
      assert.ok(err.reason.startsWith(msg.type), err.reason);
    }
  }
});

test('size field disagreeing with the frame', () => {
  const frame = encode({ type: 'Tclunk', tag: 3, fid: 1 });
  const big = new Uint8Array(frame); big[0] = 12;
  const small = new Uint8Array(frame); small[0] = 10;
  for (const f of [big, small]) {
    const err = codecError(f, '9P2000');
    assert.is(err.kind, 'size');
    assert.is(err.tag, 3);
    assert.match(err.reason, 'size field says');
  }
  // The Tversion frame once quoted in a brief with size 0x13 is two bytes longer than that.
  const e = codecError(hex('13000000 64 ffff 00200000 0800 3950323030302e4c'), '9P2000.L');
  assert.is(e.kind, 'size');
  assert.is(e.tag, 0xffff);
  assert.is(codecError(new Uint8Array([7, 0, 0]), '9P2000').tag, undefined);
});

test('trailing bytes are an error, not padding', () => {
  const frame = encode({ type: 'Tclunk', tag: 3, fid: 1 });
  const err = codecError(withSize(new Uint8Array([...frame, 0])), '9P2000');
  assert.is(err.kind, 'trailing');
  assert.is(err.tag, 3);
  // Rwalk with a spare half-qid; Rflush with a body.
  assert.is(codecError(withSize(new Uint8Array([...encode({ type: 'Rwalk', tag: 1, wqids: [qid] }), 1, 2])), '9P2000').kind, 'trailing');
  assert.is(codecError(withSize(new Uint8Array([...encode({ type: 'Rflush', tag: 1 }), 0])), '9P2000').kind, 'trailing');
  // Tfsync takes exactly 0 or 4 extra bytes.
  assert.is(codecError(withSize(new Uint8Array([...encode({ type: 'Tfsync', tag: 1, fid: 1 }), 1, 2])), '9P2000.L').kind, 'trailing');
});

test('17 wnames and 17 wqids are refused with the tag', () => {
  const sixteen = encode({ type: 'Twalk', tag: 77, fid: 1, newfid: 2, wnames: Array(16).fill('a') });
  const b = new Uint8Array([...sixteen, 1, 0, 0x61]);
  b[15] = 17;
  const err = codecError(withSize(b), '9P2000.L');
  assert.is(err.kind, 'limit');
  assert.is(err.tag, 77);
  assert.match(err.reason, 'nwname: 17');
  assert.is(err.offset, 15);
  // A huge nwname is refused before the names are looked at.
  const huge = new Uint8Array(sixteen); huge[15] = 0xff; huge[16] = 0xff;
  assert.is(codecError(huge, '9P2000').kind, 'limit');
  const wq = encode({ type: 'Rwalk', tag: 5, wqids: Array(16).fill(qid) });
  const q = new Uint8Array([...wq, ...wq.subarray(9, 22)]);
  q[7] = 17;
  assert.is(codecError(withSize(q), '9P2000').kind, 'limit');
});

test('strings: NUL, invalid UTF-8 and overruns are refused; a BOM survives unchanged', () => {
  // Twalk tag 1 fid 0 newfid 1, one name of 3 bytes.
  const walk = (name: string) => hex(`00000000 6e 0100 00000000 01000000 0100 ${name}`);
  const cases: Array<[string, string]> = [
    ['0300 610062', 'NUL'], ['0100 00', 'NUL'], ['0100 ff', 'UTF-8'], ['0200 c0af', 'UTF-8'],
    ['0300 eda080', 'UTF-8'], ['0200 e282', 'UTF-8'], ['0500 6162', 'runs past'], ['ffff 61', 'runs past'],
  ];
  for (const [bytes, why] of cases) {
    const err = codecError(withSize(walk(bytes)), '9P2000');
    assert.match(err.reason, why, bytes);
    assert.is(err.tag, 1);
    assert.match(err.reason, 'Twalk.wname[0]');
  }
  const bom = decode(withSize(walk('0400 efbbbf61')), '9P2000');
  assert.equal(bom, { type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['\uFEFFa'] });
  assert.is(encode(bom).toString('hex'), Buffer.from(withSize(walk('0400 efbbbf61'))).toString('hex'));
  assert.equal(decode(withSize(walk('0600 e697a5e69cac')), '9P2000'), { type: 'Twalk', tag: 1, fid: 0, newfid: 1, wnames: ['日本'] });
});

test('unknown and reserved type bytes carry the tag', () => {
  for (const t of [0, 1, 5, 6, 10, 99, 106, 128, 200, 255]) {
    const err = codecError(hex(`07000000 ${t.toString(16).padStart(2, '0')} 3412`), '9P2000.L');
    assert.is(err.kind, 'unknown-type', String(t));
    assert.is(err.tag, 0x1234);
    assert.is(err.msgType, t);
  }
});

test('counts: Rread/Twrite/Rreaddir count must equal the bytes present', () => {
  const over = hex('0f000000 75 0100 05000000 01020304'); // Rread count 5, 4 bytes
  assert.is(codecError(over, '9P2000').kind, 'truncated');
  const under = hex('0f000000 75 0100 03000000 01020304'); // count 3, 4 bytes
  assert.is(codecError(under, '9P2000').kind, 'trailing');
  const hugeCount = hex('0b000000 29 0100 ffffffff'); // Rreaddir count 4 GiB, nothing after
  assert.is(codecError(hugeCount, '9P2000.L').kind, 'truncated');
});

test('Rstat/Twstat: n and the stat size must agree with each other and the frame', () => {
  const good = encode({ type: 'Rstat', tag: 1, stat: nullStat() });
  const nBig = new Uint8Array(good); nBig[7]! += 1;
  assert.is(codecError(nBig, '9P2000').kind, 'truncated');
  const nSmall = new Uint8Array(good); nSmall[7]! -= 1;
  assert.ok(['truncated', 'trailing'].includes(codecError(nSmall, '9P2000').kind));
  const inner = new Uint8Array(good); inner[9]! -= 1; // stat size one short of n - 2
  assert.ok(['truncated', 'trailing'].includes(codecError(inner, '9P2000').kind));
  // A 9P2000 stat read as .u lacks the extension tail.
  assert.is(codecError(good, '9P2000.u').kind, 'truncated');
});

test.run();
