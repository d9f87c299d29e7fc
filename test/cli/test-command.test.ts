// `cheshire test M` and the `test` command of the ctl files, against a real node: a module whose
// tests pass (exit 0, PASS), one whose test fails (exit 1, FAIL with its output), and one without
// tests (exit 1, NO TESTS: never a PASS for nothing run).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ctlCommand } from '../../core/cli/node-client.ts';
import { cheshire, show } from '../helpers/cli.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';

const mod = 'export function start() { return { two: () => 2 }; }\n';
const nodeTest = (ok: boolean) => `
import { test } from 'node:test';
import assert from 'node:assert/strict';
test('two is two', () => { assert.equal(1 + 1, ${ok ? 2 : 3}, 'arithmetic says so'); });
`;

let styx: StyxNode;
let node = '';

test.before(async () => {
  styx = await startStyxNode({
    modules: {
      good: { cheshire: { test: { files: ['test/*.test.ts'] } }, index: mod, files: { 'test/two.test.ts': nodeTest(true) } },
      bad: { cheshire: { test: { files: ['test/*.test.ts'] } }, index: mod, files: { 'test/two.test.ts': nodeTest(false) } },
      none: { index: mod },
    },
    role: ['good', 'bad', 'none'],
  });
  node = `127.0.0.1:${styx.port}`;
});

test.after(async () => {
  await styx?.close();
});

test('cheshire test: PASS exits 0, FAIL exits 1 with the output, no tests exits 1 saying so', async () => {
  let r = await cheshire(['test', 'good', '--node', node], { timeoutMs: 60_000 });
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /^PASS good \(1 file\)/);
  r = await cheshire(['test', 'bad', '--node', node], { timeoutMs: 60_000 });
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, /^FAIL bad \(1 file\)/);
  assert.match(r.stdout, /arithmetic says so/);
  r = await cheshire(['test', 'none', '--node', node], { timeoutMs: 60_000 });
  assert.is(r.code, 1, show(r));
  assert.match(r.stdout, /^NO TESTS none: its descriptor lists no test files/);
});

test('the test command on /modules/M/ctl answers the same', async () => {
  const c = await styx.connect('9P2000.L');
  assert.match(await ctlCommand(c, '/modules/good/ctl', 'test'), /^PASS good \(1 file\)/);
  assert.match(await ctlCommand(c, '/modules/none/ctl', 'test'), /^NO TESTS none/);
  assert.match(await ctlCommand(c, '/ctl', 'test bad'), /^FAIL bad/);
});

test.run();
