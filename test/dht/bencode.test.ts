// The pure parts behind the DHT ctl's byte syntax: bencode round trips (canonical only), truncated
// and malformed inputs refused with where they break, and how values are spelled in and shown back
// (hex:, text:, bare text, bencoded:), including what must never reach a terminal raw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { bdecode, bencode, type BValue } from '../../modules/dht/bencode.ts';
import { parseBytes, parseValue, printable, showValue } from '../../modules/dht/ctl-bytes.ts';

const b = (s: string) => Buffer.from(s, 'latin1');

test('round trips: every canonical encoding decodes to a value that encodes back to the same bytes', () => {
  const table: Array<[string, BValue]> = [
    ['0:', b('')],
    ['5:hello', b('hello')],
    ['i0e', 0],
    ['i-42e', -42],
    ['i9007199254740991e', Number.MAX_SAFE_INTEGER],
    ['le', []],
    ['li1e3:abce', [1, b('abc')]],
    ['de', {}],
    ['d1:ai1e1:bl1:xee', { a: 1, b: [b('x')] }],
    ['d9:__proto__i1ee', JSON.parse('{"__proto__": 1}')],
    ['3:\x00\xff\n', b('\x00\xff\n')],
  ];
  for (const [enc, value] of table) {
    assert.equal(bdecode(b(enc)), value, enc);
    assert.equal(bencode(bdecode(b(enc))), b(enc), `${enc} round trip`);
  }
  assert.equal(Object.keys(bdecode(b('d9:__proto__i1ee')) as object), ['__proto__'], '"__proto__" stays an ordinary key');
  assert.equal(bencode({ b: 1, a: 2 }), b('d1:ai2e1:bi1ee'), 'keys sorted on encoding');
});

test('truncated, malformed and non-canonical inputs are refused, saying where', () => {
  const table: Array<[string, RegExp]> = [
    ['', /unexpected end at offset 0/],
    ['5:abc', /string runs past the end/],
    ['i12', /unterminated number/],
    ['i-0e', /bad integer "-0"/],
    ['i012e', /bad integer "012"/],
    ['ie', /bad integer ""/],
    ['i99999999999999999999e', /out of range/],
    ['05:hello', /bad string length "05"/],
    ['l', /unexpected end at offset 1/],
    ['d1:a', /unexpected end at offset 4/],
    ['di1ei2ee', /dictionary key is not a string/],
    ['d1:bi1e1:ai2ee', /keys not sorted and unique at offset 10/],
    ['d1:ai1e1:ai2ee', /keys not sorted and unique/],
    ['d1:\xffi1ee', /dictionary key is not UTF-8/],
    ['i1ei2e', /trailing bytes after the value at offset 3/],
    ['x', /unexpected byte 0x78/],
    ['l'.repeat(40) + 'e'.repeat(40), /nested too deeply/],
  ];
  for (const [enc, expected] of table) assert.throws(() => bdecode(b(enc)), expected, JSON.stringify(enc));
});

test('ctl bytes: hex:, text:, bare text; bencoded: for values only', () => {
  assert.equal(parseBytes('hex:00FFa1', 'salt'), Buffer.from([0, 0xff, 0xa1]));
  assert.equal(parseBytes('hex:', 'salt'), Buffer.alloc(0));
  assert.equal(parseBytes('text:hex:00', 'salt'), b('hex:00'));
  assert.equal(parseBytes('text:', 'salt'), Buffer.alloc(0));
  assert.equal(parseBytes('plain words', 'value'), b('plain words'));
  assert.equal(parseBytes('héllo', 'value'), Buffer.from('héllo', 'utf8'));
  assert.throws(() => parseBytes('hex:abc', 'salt'), /^CHS_ERR_DHT_HEX: salt "hex:abc": 3 hex digits, not an even number \(two per byte\)$/);
  assert.throws(() => parseBytes('hex:0g', 'value'), /^CHS_ERR_DHT_HEX: value "hex:0g": "g" at offset 1 is not a hex digit$/);
  assert.throws(() => parseBytes(`hex:${'z'.repeat(100)}`, 'value'), /value "hex:z{33}\.\.\."/, 'long arguments are shortened');
  assert.throws(() => parseBytes('bencoded:00', 'salt'), /^CHS_ERR_DHT_ARGUMENT: salt "bencoded:00": a salt is a byte string/);
  assert.equal(parseValue('bencoded:6c69316565'), { v: b('li1ee'), encoded: true });
  assert.equal(parseValue('bencoded:333a616263'), { v: b('abc') }, 'a bencoded byte string is that byte string');
  assert.throws(() => parseValue('bencoded:69303165'), /^CHS_ERR_DHT_BENCODE: value "bencoded:69303165" is not one canonical bencoded value: bad integer "01"/);
});

test('values shown back: printable text as is, ambiguous text with text:, the rest hex: or bencoded:', () => {
  const table: Array<[Buffer, string]> = [
    [b('hello world'), 'hello world'],
    [Buffer.from('naïve café ✓', 'utf8'), 'naïve café ✓'],
    [b(''), 'text:'],
    [b(' padded '), 'hex:2070616464656420'],
    [b('hex:00'), 'text:hex:00'],
    [b('text:x'), 'text:text:x'],
    [b('bencoded:x'), 'text:bencoded:x'],
    [b('two\nlines'), 'hex:74776f0a6c696e6573'],
    [b('tab\there'), 'hex:7461620968657265'],
    [b('\x1b[31mred'), 'hex:1b5b33316d726564'],
    [Buffer.from([0xff, 0xfe]), 'hex:fffe'],
    [Buffer.from('a\u202eb', 'utf8'), `hex:${Buffer.from('a\u202eb', 'utf8').toString('hex')}`],
    [Buffer.from('\u0085', 'utf8'), 'hex:c285'],
  ];
  for (const [v, shown] of table) assert.is(showValue({ v }), shown, JSON.stringify(v.toString('latin1')));
  assert.is(showValue({ v: b('li1ee'), encoded: true }), 'bencoded:6c69316565');
  assert.is(printable(Buffer.from([0xc3])), null, 'a truncated UTF-8 sequence is not text');
  // what is shown parses back to the same value, even after the ctl trims its line
  for (const [v] of table) assert.equal(parseValue(showValue({ v }).trim()), { v }, `round trip of ${JSON.stringify(v.toString('latin1'))}`);
});

test.run();
