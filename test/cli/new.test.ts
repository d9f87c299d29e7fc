// `cheshire new NAME` as a child process, in temp folders outside the repository: the folder's
// descriptor reads, its own test passes through runModuleTests (node:test outside, uvu where uvu
// resolves), its tsconfig.json type-checks with tsc, a real Host serves it and reloads it on a
// save; an invalid name and an existing folder are refused, and nothing is overwritten.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readDescriptor } from '../../core/descriptor.ts';
import { Host } from '../../core/host.ts';
import { createLogging, type LogRecord } from '../../core/log.ts';
import { runModuleTests } from '../../core/module-tests.ts';
import { cheshire as cheshireCli, runNode, show } from '../helpers/cli.ts';
import { closeAgent, get, REPO, waitFor } from '../helpers/project.ts';

const TSC = join(REPO, 'node_modules/typescript/bin/tsc');
const temps: string[] = [];

test.after(async () => {
  closeAgent();
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chs-new-'));
  temps.push(dir);
  return dir;
}

const run = (args: string[], cwd: string, timeoutMs = 60_000) => runNode(args, cwd, timeoutMs);
const cheshire = (args: string[], cwd: string) => cheshireCli(args, { cwd });

/** A project outside the repository: cheshire.json (moduleDirs: mods) and an empty role. */
async function project(): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'config/roles'), { recursive: true });
  await writeFile(join(dir, 'config/roles/test.json'), JSON.stringify({ modules: [] }));
  await writeFile(join(dir, 'cheshire.json'), JSON.stringify({
    node: 'test', role: 'test', moduleDirs: ['mods'], stateDir: '.cheshire',
    supervisor: { maxRestarts: 3, windowMs: 10_000, backoffMs: 20, backoffMaxMs: 200 },
    watch: { enabled: true },
  }, null, 2));
  return dir;
}

test('new hi: a module in the first moduleDirs folder; descriptor valid, its test passes, tsc passes, a Host serves and reloads it', async () => {
  const dir = await project();
  const r = await cheshire(['new', 'hi'], dir);
  assert.is(r.code, 0, show(r));
  const mod = join(dir, 'mods/hi');
  assert.match(r.stdout, /^created mods\/hi\/$/m, show(r));
  for (const f of ['package.json', 'index.ts', 'test/hi.test.ts', 'README.md', 'tsconfig.json']) {
    assert.ok(existsSync(join(mod, f)), `${f} written`);
    assert.match(r.stdout, `  ${f}`);
  }
  assert.match(r.stdout, /npx cheshire enable hi /);
  assert.not.match(r.stdout, /moduleDirs/, 'mods is already a module directory');

  const desc = readDescriptor(mod);
  assert.is(desc.name, 'hi');
  assert.is(desc.version, '0.1.0');
  assert.equal(desc.configDefaults, { host: '127.0.0.1', port: 0, greeting: 'Hello' });
  assert.equal(desc.test.files, ['test/*.test.ts']);
  const index = await readFile(join(mod, 'index.ts'), 'utf8');
  assert.equal([...index.matchAll(/from '([^']+)'/g)].map((m) => m[1]), ['node:net', 'cheshire/sdk'], 'imports only cheshire/sdk and built-ins');
  assert.match(index, /ModuleContext<Config>/);

  // Outside the repository uvu does not resolve: the generated test is node:test.
  assert.match(await readFile(join(mod, 'test/hi.test.ts'), 'utf8'), /from 'node:test'/);
  const tests = await runModuleTests(desc);
  assert.ok(tests.ok, tests.output);
  assert.equal(tests.files, ['test/hi.test.ts']);
  assert.match(tests.output, /# pass 2/);

  // The tsconfig.json an editor reads resolves cheshire/sdk (and Node's types) from here.
  const tsc = await run([TSC, '-p', join(mod, 'tsconfig.json')], mod);
  assert.is(tsc.code, 0, show(tsc));

  const logs: LogRecord[] = [];
  const logging = createLogging({ out: process.env.CHESHIRE_TEST_LOG ? undefined : null, level: 'debug' });
  logging.hub.on('record', (rec) => logs.push(rec));
  const host = new Host({ configFile: join(dir, 'cheshire.json'), logging, watch: true });
  try {
    await host.start();
    assert.equal(await host.enable('hi'), ['hi'], 'the step the output names');
    const inst = host.instances.get('hi');
    assert.is(inst?.state, 'active', `hi did not start: ${inst?.lastError?.message}`);
    const line = await waitFor('the "listening on" log line', () => logs.find((l) => l.module === 'hi' && /listening on/.test(l.msg))?.msg ?? '');
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(line)![1]!;
    assert.equal(await get(`${url}/?name=Ada`), { status: 200, body: 'Hello, Ada!\n' });

    // Edit, save, see it reload: same listener, new code.
    await writeFile(join(mod, 'index.ts'), index.replace('${who}!', '${who}!!'));
    await waitFor('the edited answer', async () => (await get(`${url}/?name=Ada`)).body === 'Hello, Ada!!\n', 10_000, 20);
    assert.ok(inst!.reloads >= 1, `reloads: ${inst!.reloads}`);
    assert.ok(logs.some((l) => /^hi reloaded v0\.1\.0 #[0-9a-f]+ in \d+ ms$/.test(l.msg)), 'the reload log line the docs quote');
  } finally {
    await host.close();
  }
});

test('new inside a folder where uvu resolves writes a uvu test, which passes', async () => {
  const dir = await tempDir();
  await symlink(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  const r = await cheshire(['new', 'hu', '--dir', join(dir, 'mods')], dir);
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /test\/hu\.test\.ts {2}\(uvu\)/);
  assert.match(r.stdout, /add ".*mods" to "moduleDirs"/, 'no cheshire.json lists the folder');
  const mod = join(dir, 'mods/hu');
  assert.match(await readFile(join(mod, 'test/hu.test.ts'), 'utf8'), /from 'uvu'/);
  const tests = await runModuleTests(readDescriptor(mod));
  assert.ok(tests.ok, tests.output);
  assert.match(tests.output, /Passed:\s+2/);
});

test('refused: an invalid name, an existing folder (nothing overwritten), a second name', async () => {
  const dir = await tempDir();
  const mods = join(dir, 'mods');
  for (const name of ['Hello', '_x', '.hidden', 'a/b', 'x y']) {
    const r = await cheshire(['new', name, '--dir', mods], dir);
    assert.is(r.code, 1, show(r));
    assert.match(r.stderr, `"${name}" is not a valid module name`);
  }
  assert.not.ok(existsSync(mods), 'nothing written for an invalid name');

  await mkdir(join(mods, 'taken'), { recursive: true });
  await writeFile(join(mods, 'taken/index.ts'), 'mine\n');
  const r = await cheshire(['new', 'taken', '--dir', mods], dir);
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /taken already exists; nothing written/);
  assert.is(await readFile(join(mods, 'taken/index.ts'), 'utf8'), 'mine\n');
  assert.not.ok(existsSync(join(mods, 'taken/package.json')));

  const two = await cheshire(['new', 'a', 'b', '--dir', mods], dir);
  assert.is(two.code, 1, show(two));
  assert.match(two.stderr, /usage: cheshire new NAME \[--dir D\]/);
});

test.run();
