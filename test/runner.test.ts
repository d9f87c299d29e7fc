// The test runner itself (test/run.ts), on a fixture tree: skipped tests are shown and counted,
// and a file that proves nothing fails the run: a `.only` left in, a file with no tests, a file
// whose tests never ran (it exits before uvu's summary). The last line stays `N passed, N failed`.
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runNode } from './helpers/cli.ts';
import { REPO } from './helpers/project.ts';

const TSX = import.meta.resolve('tsx');
let dir = '';

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chs-runner-'));
  await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  await mkdir(join(dir, 'test'));
});
test.after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const head = `import { test } from 'uvu';\nimport * as assert from 'uvu/assert';\n`;
const files: Record<string, string> = {
  'a-good.test.ts': `${head}test('one', () => assert.ok(true));\ntest.skip('later', () => assert.ok(false));\ntest.run();\n`,
  // Spelled in two parts, or the runner would take this very file for one with a .only left in.
  'b-only.test.ts': `${head}test('one', () => assert.ok(true));\ntest.${'only'}('two', () => assert.ok(true));\ntest.run();\n`,
  'c-empty.test.ts': `${head}test.run();\n`,
  'd-never.test.ts': `${head}process.exit(0);\ntest('one', () => assert.ok(true));\ntest.run();\n`,
};

async function run(only: string[]) {
  return runNode(['--import', TSX, join(REPO, 'test/run.ts'), ...only], REPO, 60_000);
}

test('skips are counted and shown; a clean file with a skip passes', async () => {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'test', name), text);
  process.env.CHESHIRE_TEST_ROOT = dir;
  try {
    const r = await run(['a-good']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok {3}test\/a-good\.test\.ts {2}1 passed, 0 failed, 1 skipped/);
    assert.match(r.stdout, /skipped: 1 in test\/a-good\.test\.ts/);
    assert.match(r.stdout, /1 passed, 0 failed, 1 skipped\n1 passed, 0 failed\n$/);
  } finally {
    delete process.env.CHESHIRE_TEST_ROOT;
  }
});

test('a .only, an empty file and a file whose tests never ran each fail the run', async () => {
  process.env.CHESHIRE_TEST_ROOT = dir;
  try {
    const r = await run([]);
    assert.is(r.code, 1, r.stdout);
    assert.match(r.stdout, /FAIL test\/b-only\.test\.ts .*a \.only is left in this file/);
    assert.match(r.stdout, /FAIL test\/c-empty\.test\.ts .*no tests in this file/);
    assert.match(r.stdout, /FAIL test\/d-never\.test\.ts .*its tests never ran/);
    assert.match(r.stdout, /\n2 passed, 3 failed\n$/);
  } finally {
    delete process.env.CHESHIRE_TEST_ROOT;
  }
});

test.run();
