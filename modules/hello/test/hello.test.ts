// hello's replies, with the real greeter's service (no host needed): the greeting at /, the
// greeter's words for ?name=, "world" by default.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeGreeter } from '../../greeter/index.ts';
import { GREETING, reply } from '../index.ts';

const greeter = makeGreeter('Hi', { served: 0 });
const at = (path: string) => reply(new URL(path, 'http://localhost'), (who) => greeter.greet(who));

test('GET / answers the greeting (whatever it is edited to)', async () => {
  assert.ok(GREETING.length > 0);
  assert.is(await at('/'), GREETING);
  assert.is(greeter.count(), 0, 'the greeter is not asked at /');
});

test('any other path asks the greeter, for ?name= or the world', async () => {
  assert.is(await at('/greet?name=Ada'), 'Hi, Ada!');
  assert.is(await at('/greet'), 'Hi, world!');
  assert.is(greeter.count(), 2, 'each greeting went through the greeter');
});

test.run();
