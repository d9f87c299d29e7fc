// Every message type in every dialect it belongs to: encode -> decode gives back the same value,
// and the dialect tables say what they should.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CodecError, decode, encode, DIALECTS, DIALECT_MESSAGES, MSG, inDialect } from './index.ts';
import type { Msg, MsgType } from './index.ts';
import { Gen, prng, randomMessage } from './fuzz.ts';

const ALL = Object.keys(MSG).filter((n) => n !== 'Tlerror' && n !== 'Terror') as MsgType[];

function catchCodec(fn: () => unknown): CodecError {
  try { fn(); } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error('expected a CodecError');
}

test('dialect tables: 9P2000 and .u have 27 messages (100..127 less Terror), .L has 57, and every type is somewhere', () => {
  assert.is(DIALECT_MESSAGES['9P2000'].size, 27);
  assert.is(DIALECT_MESSAGES['9P2000.u'].size, 27);
  assert.is(DIALECT_MESSAGES['9P2000.L'].size, 57);
  for (const t of ALL) assert.ok(DIALECTS.some((d) => inDialect(t, d)), t);
  assert.not.ok(inDialect('Topen', '9P2000.L'));
  assert.not.ok(inDialect('Rerror', '9P2000.L'));
  assert.not.ok(inDialect('Tlopen', '9P2000'));
  for (const d of DIALECTS) assert.ok(inDialect('Tversion', d) && inDialect('Rversion', d));
});

for (const dialect of DIALECTS) {
  test(`round-trip: every ${dialect} message, 40 random values each`, () => {
    const g = new Gen(prng(dialect.length * 7919));
    let n = 0;
    for (const type of DIALECT_MESSAGES[dialect]) {
      for (let i = 0; i < 40; i++) {
        const msg = randomMessage(g, type, dialect);
        const frame = encode(msg, dialect);
        assert.is(frame.readUInt32LE(0), frame.length, `${type} size prefix`);
        assert.is(frame[4], MSG[type]);
        assert.equal(decode(frame, dialect), msg, `${dialect} ${type}`);
        n++;
      }
    }
    assert.is(n, DIALECT_MESSAGES[dialect].size * 40);
  });
}

test('a message outside the dialect is wrong-dialect, carrying tag and type', () => {
  for (const dialect of DIALECTS) {
    for (const type of ALL) {
      if (inDialect(type, dialect)) continue;
      const home = DIALECTS.find((d) => inDialect(type, d))!;
      const msg = randomMessage(new Gen(prng(3)), type, home);
      const frame = encode({ ...msg, tag: 4242 } as Msg);
      const err = catchCodec(() => decode(frame, dialect));
      assert.is(err.kind, 'wrong-dialect', `${type} on ${dialect}`);
      assert.is(err.tag, 4242);
      assert.is(err.msgType, MSG[type]);
      assert.match(err.reason, `${type} (type ${MSG[type]}) is not a ${dialect} message`);
      assert.is(catchCodec(() => encode(msg, dialect)).kind, 'wrong-dialect');
    }
  }
});

test('Tversion/Rversion decode in every dialect', () => {
  const t = encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' });
  const r = encode({ type: 'Rversion', tag: 0xffff, msize: 8192, version: 'unknown' });
  for (const d of DIALECTS) {
    assert.equal(decode(t, d), { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.L' });
    assert.equal(decode(r, d), { type: 'Rversion', tag: 0xffff, msize: 8192, version: 'unknown' });
  }
});

test('dialect-dependent fields: the same bytes decode per dialect, encode(msg, dialect) checks shape', () => {
  const attachL = { type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'u', aname: '', nUname: 1000 } as const;
  const attach9 = { type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'u', aname: '' } as const;
  assert.equal(decode(encode(attachL), '9P2000.L'), attachL);
  assert.equal(decode(encode(attachL), '9P2000.u'), attachL);
  assert.equal(decode(encode(attach9), '9P2000'), attach9);
  // The .L form read as 9P2000 has four bytes too many; the 9P2000 form read as .L is short.
  assert.is(catchCodec(() => decode(encode(attachL), '9P2000')).kind, 'trailing');
  assert.is(catchCodec(() => decode(encode(attach9), '9P2000.L')).kind, 'truncated');
  assert.is(catchCodec(() => encode(attach9, '9P2000.L')).kind, 'encode');
  assert.is(catchCodec(() => encode(attachL, '9P2000')).kind, 'encode');
  const errU = { type: 'Rerror', tag: 2, ename: 'no', errno: 2 } as const;
  assert.equal(decode(encode(errU, '9P2000.u'), '9P2000.u'), errU);
  assert.is(catchCodec(() => encode({ type: 'Rerror', tag: 2, ename: 'no' }, '9P2000.u')).kind, 'encode');
  assert.is(catchCodec(() => encode({ type: 'Tcreate', tag: 2, fid: 1, name: 'f', perm: 0o644, mode: 0 }, '9P2000.u')).kind, 'encode');
});

test('Tfsync decodes with and without Linux\'s datasync[4]', () => {
  const bare = { type: 'Tfsync', tag: 3, fid: 9 } as const;
  const linux = { type: 'Tfsync', tag: 3, fid: 9, datasync: 1 } as const;
  assert.is(encode(bare).length, 11);
  assert.is(encode(linux).length, 15);
  assert.equal(decode(encode(bare), '9P2000.L'), bare);
  assert.equal(decode(encode(linux), '9P2000.L'), linux);
});

test('encode refuses values the wire cannot carry', () => {
  const bad: Array<[Msg, string]> = [
    [{ type: 'Tclunk', tag: 1, fid: -1 }, 'encode'],
    [{ type: 'Tclunk', tag: 1, fid: 2 ** 32 }, 'encode'],
    [{ type: 'Tclunk', tag: 1, fid: 1.5 }, 'encode'],
    [{ type: 'Tclunk', tag: 0x10000, fid: 1 }, 'encode'],
    [{ type: 'Tread', tag: 1, fid: 1, offset: -1n, count: 1 }, 'encode'],
    [{ type: 'Tread', tag: 1, fid: 1, offset: 1n << 64n, count: 1 }, 'encode'],
    [{ type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames: Array(17).fill('a') }, 'limit'],
    [{ type: 'Rwalk', tag: 1, wqids: Array(17).fill({ type: 0, version: 0, path: 0n }) }, 'limit'],
    [{ type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames: ['a\0b'] }, 'string'],
    [{ type: 'Rerror', tag: 1, ename: '\uD800' }, 'string'],
    [{ type: 'Rerror', tag: 1, ename: 'x'.repeat(65536) }, 'encode'],
    [{ type: 'Tnope', tag: 1 } as unknown as Msg, 'encode'],
  ];
  for (const [msg, kind] of bad) {
    const err = catchCodec(() => encode(msg));
    assert.is(err.kind, kind, `${JSON.stringify(msg, (_k, v) => typeof v === 'bigint' ? String(v) : v).slice(0, 80)}: ${err.reason}`);
  }
  assert.match(catchCodec(() => encode(bad[0]![0])).reason, 'Tclunk.fid');
  // 16 names and 65535-byte strings are the limits, not beyond them.
  assert.is(decode(encode({ type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames: Array(16).fill('a') }), '9P2000').type, 'Twalk');
  assert.is(encode({ type: 'Rerror', tag: 1, ename: 'x'.repeat(65535) }).length, 7 + 2 + 65535);
});

test.run();
