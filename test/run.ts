// The test command's runner: every `*.test.ts` runs in its own Node process (uvu inside),
// with a deadline, a few at a time. uvu's per-file summary is parsed and the run ends with
// the plain line `N passed, N failed` that CI reads; the exit code is non-zero on any failure.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
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

interface FileResult { file: string; passed: number; failed: number; output: string; ms: number; note?: string }

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
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        resolve({ file, passed: 0, failed: 1, output: text, ms, note: note ?? `no uvu summary (exit ${code ?? signal})` });
        return;
      }
      let failed = total - passed;
      if (failed === 0 && (code !== 0 || note)) { failed = 1; note ??= `exit ${code ?? signal}`; }
      // uvu prints nothing when a before/after hook throws: it only shows "(0 / N)".
      if (failed > 0 && passed === 0 && !/FAIL /.test(text)) note ??= 'no test ran: a before/after hook probably threw (uvu does not print it; run the file alone)';
      resolve({ file, passed, failed, output: text, ms, note });
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
      console.log(`${mark} ${relative(root, r.file)}  ${r.passed} passed, ${r.failed} failed  (${r.ms} ms)${r.note ? '  ' + r.note : ''}`);
      if (r.failed || process.env.CHESHIRE_TEST_VERBOSE) console.log(r.output.replace(/^/gm, '    | '));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, JOBS) }, worker));
  const passed = results.reduce((n, r) => n + r.passed, 0);
  const failed = results.reduce((n, r) => n + r.failed, 0);
  if (files.length === 0) console.log('no test files found');
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed || files.length === 0 ? 1 : 0;
}

await main();
