// Connection deadlines: a head deadline does not move when bytes arrive, a body deadline does,
// the sweep fires each expired clock once, and a stopped clock never fires.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Clocks, type ClockKind } from './conn-clock.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const limits = { headTimeoutMs: 200, idleTimeoutMs: 1000, bodyTimeoutMs: 200, lingerMs: 200 };

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

test('a head deadline runs from the first byte; calling head() again does not move it', async () => {
  const clocks = new Clocks(limits);
  const fired: ClockKind[] = [];
  const c = clocks.clock((k) => fired.push(k));
  c.head();
  const first = c.deadline;
  await sleep(30);
  c.head(); // more bytes of the same head
  assert.is(c.deadline, first);
  await until('the head deadline to fire', () => fired.length > 0);
  assert.equal(fired, ['head']);
  assert.is(c.kind, null);
  c.stop();
  assert.is(clocks.size, 0);
});

test('a body deadline restarts on progress; idle() replaces a head deadline', async () => {
  const clocks = new Clocks(limits);
  const fired: ClockKind[] = [];
  const c = clocks.clock((k) => fired.push(k));
  for (let i = 0; i < 6; i++) { c.body(); await sleep(60); } // 360 ms of progress, each step within 200
  assert.equal(fired, []);
  c.head();
  c.idle();
  assert.is(c.kind, 'idle');
  await sleep(300);
  assert.equal(fired, [], 'the idle deadline is 1000 ms');
  c.stop();
});

test('a stopped or switched-off clock never fires', async () => {
  const clocks = new Clocks(limits);
  let fired = 0;
  const a = clocks.clock(() => { fired++; });
  const b = clocks.clock(() => { fired++; });
  a.head();
  b.body();
  a.stop();
  b.off();
  await sleep(400);
  assert.is(fired, 0);
  b.stop();
  assert.throws(() => new Clocks({ ...limits, headTimeoutMs: 0 }), /headTimeoutMs/);
});

test.run();
