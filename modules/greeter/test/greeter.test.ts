import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeGreeter } from '../index.ts';

test('greets in the configured words and counts', () => {
  const g = makeGreeter('Bonjour', { served: 0 });
  assert.is(g.greet('Ada'), 'Bonjour, Ada!');
  assert.is(g.count(), 1);
});

test.run();
