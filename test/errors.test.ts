// Every CHS_ERR_* code is in the one registry, spelled as its own key, and documented in
// docs/errors.md (after fastify's errors test).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CheshireError, ERROR_CODES, chsError } from '../core/errors.ts';

const root = join(import.meta.dirname, '..');

test('every code is documented in docs/errors.md', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  for (const code of Object.keys(ERROR_CODES)) assert.ok(doc.includes(`\`${code}\``), `${code} is missing from docs/errors.md`);
});

test('codes are CHS_ERR_ upper snake case and the error carries its code in the message', () => {
  for (const code of Object.keys(ERROR_CODES) as Array<keyof typeof ERROR_CODES>) {
    assert.match(code, /^CHS_ERR_[A-Z0-9_]+$/);
    const e = chsError(code, 'what went wrong');
    assert.instance(e, CheshireError);
    assert.is(e.code, code);
    assert.is(e.message, `${code}: what went wrong`);
  }
});

test('docs/errors.md documents no code that does not exist', () => {
  const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const documented = [...doc.matchAll(/`(CHS_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
  for (const code of documented) assert.ok(code in ERROR_CODES, `${code} is documented but not in core/errors.ts`);
});

test.run();
