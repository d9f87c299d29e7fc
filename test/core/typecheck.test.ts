// The module type checker: a module folder anywhere on disk is checked with the host's strict
// settings in a worker thread, only its own files are reported, a newer check of a folder drops
// the older one, and close() leaves nothing running. Also the descriptor's `typecheck` field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readDescriptor } from '../../core/descriptor.ts';
import { TypeChecker, formatDiagnostic } from '../../core/typecheck/index.ts';

const checker = new TypeChecker({ timeoutMs: 60_000 });
// Outside the repo on purpose: nothing may be found by walking up to the host's node_modules.
const root = realpathSync(mkdtempSync(join(tmpdir(), 'chs-typecheck-')));

test.after(async () => {
  await checker.close();
  rmSync(root, { recursive: true, force: true });
});

/** Writes a module folder (package.json with a `cheshire` field, plus files) under the temp root. */
function writeModule(name: string, files: Record<string, string>, cheshire: Record<string, unknown> = {}) {
  const dir = join(root, name);
  const all = { 'package.json': JSON.stringify({ name, version: '1.0.0', type: 'module', cheshire }), ...files };
  for (const [rel, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return { name, dir, entry: 'index.ts' };
}

test('a clean module outside the repo, importing cheshire/sdk and node:http, has no diagnostics', async () => {
  const unit = writeModule('clean', {
    'index.ts': [
      "import type { ModuleContext } from 'cheshire/sdk';",
      "import { createServer } from 'node:http';",
      '',
      'export function start(ctx: ModuleContext<{ port: number }>) {',
      "  const server = ctx.own(createServer((_req, res) => res.end('ok')));",
      '  server.listen(ctx.config.port);',
      '  return { port: ctx.config.port };',
      '}',
      '',
    ].join('\n'),
  });
  const report = await checker.check(unit);
  assert.equal(report.diagnostics.map(formatDiagnostic), []);
  assert.is(report.status, 'checked');
  assert.ok(report.ok);
});

test('a type error is one diagnostic with the file, 1-based line and column, and TS2322', async () => {
  const unit = writeModule('wrong', { 'index.ts': "const GREETING: number = 'x';\nexport function start() { return { GREETING }; }\n" });
  const report = await checker.check(unit);
  assert.not.ok(report.ok);
  assert.is(report.status, 'checked');
  const file = join(unit.dir, 'index.ts');
  assert.equal(report.diagnostics, [{ file, line: 1, column: 7, code: 2322, message: "Type 'string' is not assignable to type 'number'." }]);
  assert.is(formatDiagnostic(report.diagnostics[0]!), `${file}:1:7 TS2322 Type 'string' is not assignable to type 'number'.`);
});

test('a module\'s own dependency is checked against the types in its own node_modules', async () => {
  const unit = writeModule('with-dep', {
    'node_modules/tiny-dep/package.json': JSON.stringify({ name: 'tiny-dep', version: '1.0.0', type: 'module', exports: { '.': { types: './index.d.ts', default: './index.js' } } }),
    'node_modules/tiny-dep/index.d.ts': 'export declare function double(n: number): number;\n',
    'node_modules/tiny-dep/index.js': 'export function double(n) { return 2 * n; }\n',
    'index.ts': "import { double } from 'tiny-dep';\nexport function start() {\n  const label: string = double(2);\n  return { label };\n}\n",
  });
  const report = await checker.check(unit);
  // TS2322 on line 3 (not TS2307 "cannot find module"): the package's own types were read.
  assert.equal(report.diagnostics.map((d) => `${d.line}:${d.column} TS${d.code} ${d.message}`), ["3:9 TS2322 Type 'number' is not assignable to type 'string'."]);
});

test('a module\'s own tsconfig.json is honoured, and cheshire/sdk still resolves to the host', async () => {
  const unit = writeModule('loose', {
    'tsconfig.json': JSON.stringify({ compilerOptions: { strict: false, noUnusedLocals: false } }),
    'index.ts': "import type { ModuleContext } from 'cheshire/sdk';\nconst unused = 1;\nexport function start(ctx: ModuleContext, extra) { return { id: ctx.id, extra }; }\n",
  });
  const report = await checker.check(unit);
  assert.equal(report.diagnostics.map(formatDiagnostic), [], 'implicit any and an unused local are allowed by the module\'s settings');
});

test('errors in files outside the module folder (a sibling it imports types from) are not reported', async () => {
  writeModule('sibling', { 'index.ts': "export interface Greeter { greet(who: string): string }\nconst broken: number = 'x';\n" });
  const unit = writeModule('user', { 'index.ts': "import type { Greeter } from '../sibling/index.ts';\nexport function start() { const g: Greeter | undefined = undefined; return { g }; }\n" });
  const report = await checker.check(unit);
  assert.equal(report.diagnostics.map(formatDiagnostic), []);
});

test('a repeated check sees an edit, even one of the same size and mtime', async () => {
  const unit = writeModule('edited', { 'index.ts': 'export const n: number = 111;\n' });
  const file = join(unit.dir, 'index.ts');
  const tick = Math.floor(Date.now() / 1000); // a coarse-mtime file system: both saves in one tick
  utimesSync(file, tick, tick);
  assert.ok((await checker.check(unit)).ok);
  writeFileSync(file, "export const n: number = '1';\n");
  utimesSync(file, tick, tick);
  const report = await checker.check(unit);
  assert.equal(report.diagnostics.map((d) => d.code), [2322]);
});

test('two checks of one module back to back: the first is superseded, the second gives the result', async () => {
  const unit = writeModule('overtaken', { 'index.ts': "export const n: number = 'x';\n" });
  const other = writeModule('bystander', { 'index.ts': 'export const n = 1;\n' });
  const first = checker.check(unit);
  const bystander = checker.check(other);
  const second = checker.check(unit);
  const [a, b, c] = await Promise.all([first, second, bystander]);
  assert.equal({ ok: a.ok, status: a.status, diagnostics: a.diagnostics }, { ok: false, status: 'superseded', diagnostics: [] });
  assert.is(b.status, 'checked');
  assert.equal(b.diagnostics.map((d) => d.code), [2322]);
  assert.is(c.status, 'checked', 'a check of another folder is not overtaken');
  assert.ok(c.ok);
});

test('a check past its deadline resolves as timeout; an aborted one rejects with the reason', async () => {
  const unit = writeModule('slowpoke', { 'index.ts': 'export const n = 1;\n' });
  const late = await checker.check(unit, { timeoutMs: 1 });
  assert.equal({ ok: late.ok, status: late.status }, { ok: false, status: 'timeout' });
  const ac = new AbortController();
  const aborted = checker.check(unit, { signal: ac.signal });
  ac.abort(new Error('not wanted any more'));
  try {
    await aborted;
    assert.unreachable('an aborted check rejects');
  } catch (err) {
    assert.is((err as Error).message, 'not wanted any more');
  }
  assert.ok((await checker.check(unit)).ok, 'the checker still works after a cancelled check');
});

test('close() ends the worker: a process that checked and closed (or just went idle) exits by itself', async () => {
  const unit = writeModule('exits', { 'index.ts': 'export const n = 1;\n' });
  const script = join(root, 'exits.mjs');
  const api = pathToFileURL(join(import.meta.dirname, '../../core/typecheck/index.ts')).href;
  writeFileSync(script, [
    `import { typecheckModule, closeTypecheck } from ${JSON.stringify(api)};`,
    `const report = await typecheckModule(${JSON.stringify(unit)});`,
    "if (process.argv[2] === 'close') await closeTypecheck();",
    'console.log(report.status);',
  ].join('\n'));
  for (const mode of ['close', 'idle']) {
    const { code, stdout } = await runToExit(script, [mode], 60_000);
    assert.is(code, 0, `${mode}: exit code`);
    assert.is(stdout.trim(), 'checked', mode);
  }
  const closing = new TypeChecker();
  await closing.close();
  await closing.close(); // idempotent
  try {
    await closing.check(unit);
    assert.unreachable('a closed checker refuses');
  } catch (err) {
    assert.match((err as Error).message, /^CHS_ERR_HOST_STOPPED: type check of exits/);
  }
});

test('descriptor: typecheck defaults to warn; an invalid value is refused naming the field', () => {
  const plain = writeModule('desc-default', { 'index.ts': '' });
  assert.is(readDescriptor(plain.dir).typecheck, 'warn');
  const refuse = writeModule('desc-refuse', { 'index.ts': '' }, { typecheck: 'refuse' });
  assert.is(readDescriptor(refuse.dir).typecheck, 'refuse');
  const bad = writeModule('desc-bad', { 'index.ts': '' }, { typecheck: 'sometimes' });
  assert.throws(() => readDescriptor(bad.dir), /^CHS_ERR_DESCRIPTOR_INVALID: .*desc-bad\/package\.json: "cheshire" \/typecheck must be one of \["warn","refuse","off"\]/);
});

/** Runs a script with tsx until it exits; kills it and fails if it is still running at the deadline. */
function runToExit(script: string, args: string[], deadlineMs: number): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${deadlineMs} ms (a handle was left open)`));
    }, deadlineMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout });
    });
  });
}

test.run();
