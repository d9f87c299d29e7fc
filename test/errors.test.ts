// Every CHS_ERR_* code — the host's (core/errors.ts), the 9P layer's (fs/errors.ts) and each
// module's own (modules/*/errors.ts) — is in the one registry, spelled as its own key, and
// documented in docs/errors.md (after fastify's errors test).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CheshireError, defineErrors, registeredErrorCodes } from '../base/errors.ts';
import { chsError } from '../core/errors.ts';
import '../fs/errors.ts';

const root = join(import.meta.dirname, '..');
const doc = readFileSync(join(root, 'docs/errors.md'), 'utf8');

test.before(async () => {
  for (const name of readdirSync(join(root, 'modules'))) {
    const file = join(root, 'modules', name, 'errors.ts');
    if (existsSync(file)) await import(pathToFileURL(file).href);
  }
});

test('the registry holds the host, 9P and module codes', () => {
  const codes = registeredErrorCodes();
  for (const c of ['CHS_ERR_MODULE_LOAD', 'CHS_ERR_9P_CODEC', 'CHS_ERR_DHT_BIND', 'CHS_ERR_SEED_PROTOCOL', 'CHS_ERR_PROXY_TLS', 'CHS_ERR_FILESERVER_NAME']) {
    assert.ok(codes.has(c), `${c} is not registered`);
  }
});

test('every code is documented in docs/errors.md', () => {
  for (const code of registeredErrorCodes().keys()) assert.ok(doc.includes(`\`${code}\``), `${code} is missing from docs/errors.md`);
});

test('codes are CHS_ERR_ upper snake case and the error carries its code in the message', () => {
  for (const code of registeredErrorCodes().keys()) {
    assert.match(code, /^CHS_ERR_[A-Z0-9_]+$/);
    const e = new CheshireError(code, 'what went wrong');
    assert.is(e.code, code);
    assert.is(e.message, `${code}: what went wrong`);
  }
  const e = chsError('CHS_ERR_MODULE_LOAD', 'x');
  assert.instance(e, CheshireError);
});

test('defineErrors refuses a malformed code and a code redeclared with another meaning', () => {
  assert.throws(() => defineErrors({ chs_err_lower: 'x' }), /upper snake case/);
  assert.throws(() => defineErrors({ CHS_ERR_MODULE_LOAD: 'something else' }), /declared twice/);
});

test('docs/errors.md documents no code that does not exist', () => {
  const documented = [...doc.matchAll(/`(CHS_ERR_[A-Z0-9_]+)`/g)].map((m) => m[1]!);
  for (const code of documented) assert.ok(registeredErrorCodes().has(code), `${code} is documented but declared nowhere`);
});

test.run();
