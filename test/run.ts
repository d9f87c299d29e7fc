// The test command's runner: every `*.test.ts` runs in its own Node process (uvu inside),
// with a deadline, a few at a time. uvu's per-file summary is parsed and the run ends with
// the plain line `N passed, N failed` that CI reads; the exit code is non-zero on any failure.
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

// CHESHIRE_TEST_ROOT: another tree to run (the runner's own test points it at fixtures).
const root = process.env.CHESHIRE_TEST_ROOT ?? fileURLToPath(new URL('..', import.meta.url));
const SEARCH = ['base', 'core', 'fs', 'modules', 'test'];
const SKIP_DIRS = new Set(['node_modules', 'fixtures', '.cheshire']);
const FILE_DEADLINE_MS = Number(process.env.CHESHIRE_TEST_DEADLINE_MS ?? 240_000);
const JOBS = Number(process.env.CHESHIRE_TEST_JOBS ?? 2);

function findTests(dir: string, out: string[]): string[] {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    if (SKIP_DIRS.has(name)) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) findTests(full, out);
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

/** `test.only(`, `Suite.only(`: uvu then runs that test alone and counts the others as skipped. */
const ONLY = /\b[A-Za-z_$][\w$]*\.only\(/;
const source = (file: string): string => { try { return readFileSync(file, 'utf8'); } catch { return ''; } };

interface FileResult { file: string; passed: number; failed: number; skipped: number; output: string; ms: number; note?: string }

const strip = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

function runFile(file: string): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', CHESHIRE_TEST: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    let note: string | undefined;
    const timer = setTimeout(() => {
      note = `timed out after ${FILE_DEADLINE_MS} ms`;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, FILE_DEADLINE_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // A test file may leave a grandchild behind; the group kill makes sure nothing lingers.
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      const text = strip(output);
      const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? NaN);
      const ms = Date.now() - started;
      const skipped = Number(/Skipped:\s+(\d+)/.exec(text)?.[1] ?? 0);
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        resolve({ file, passed: 0, failed: 1, skipped, output: text, ms, note: note ?? `no uvu summary (exit ${code ?? signal}): its tests never ran` });
        return;
      }
      let failed = total - passed;
      // A file that runs no test proves nothing: empty, all skipped, or cut short by a .only.
      if (total === 0) { failed += 1; note ??= skipped ? `no test ran (${skipped} skipped)` : 'no tests in this file'; }
      if (ONLY.test(source(file))) { failed += 1; note ??= 'a .only is left in this file: the other tests did not run'; }
      if (failed === 0 && (code !== 0 || note)) { failed = 1; note ??= `exit ${code ?? signal}`; }
      // uvu prints nothing when a before/after hook throws: it only shows "(0 / N)".
      if (failed > 0 && passed === 0 && !/FAIL /.test(text)) note ??= 'no test ran: a before/after hook probably threw (uvu does not print it; run the file alone)';
      resolve({ file, passed, failed, skipped, output: text, ms, note });
    });
  });
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  let files = SEARCH.flatMap((d) => findTests(join(root, d), []));
  if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));
  const queue = [...files];
  const results: FileResult[] = [];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const r = await runFile(f);
      results.push(r);
      const mark = r.failed ? 'FAIL' : 'ok  ';
      console.log(`${mark} ${relative(root, r.file)}  ${r.passed} passed, ${r.failed} failed${r.skipped ? `, ${r.skipped} skipped` : ''}  (${r.ms} ms)${r.note ? '  ' + r.note : ''}`);
      if (r.failed || process.env.CHESHIRE_TEST_VERBOSE) console.log(r.output.replace(/^/gm, '    | '));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, JOBS) }, worker));
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  const skipped = results.reduce((n, r) => n + r.skipped, 0);
  if (files.length === 0) console.log('no test files found');
  for (const r of results) if (r.skipped) console.log(`skipped: ${r.skipped} in ${relative(root, r.file)}`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  // The last line, plain, is what CI reads.
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed || files.length === 0 ? 1 : 0;
}

await main();
