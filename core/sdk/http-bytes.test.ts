// hasBareCrLfOrNul: CRLF pairs pass; a NUL, a CR without its LF or an LF without its CR anywhere do not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hasBareCrLfOrNul } from './http-bytes.ts';

test('bare CR, bare LF and NUL are found wherever they are; CRLFs are not', () => {
  for (const ok of ['', 'GET / HTTP/1.1', 'GET / HTTP/1.1\r\nHost: x\r\nX: a b', '\r\n\r\n']) assert.not.ok(hasBareCrLfOrNul(ok), JSON.stringify(ok));
  for (const bad of ['a\nb', 'a\rb', 'a\0b', 'x\r\nX: a\nContent-Length: 5', 'end\r', '\nstart', 'a\n\r\nb', 'a\r\r\nb', 'GET /\0 HTTP/1.1']) {
    assert.ok(hasBareCrLfOrNul(bad), JSON.stringify(bad));
  }
});

test.run();
