import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';

test('the greeting is a string literal in index.ts', () => {
  const src = readFileSync(new URL('../index.ts', import.meta.url), 'utf8');
  assert.match(src, /const GREETING = '[^']+';/);
});

test.run();
