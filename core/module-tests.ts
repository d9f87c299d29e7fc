// Runs a module's own tests (descriptor `test.files` globs) in child processes: for `cheshire
// test M` and for test-before-activate, where a failure keeps the old version serving.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import picomatch from 'picomatch';
import type { Descriptor } from './types.ts';

export interface TestResult {
  ok: boolean;
  files: string[];
  output: string;
}

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, rel));
    else out.push(rel);
  }
  return out;
}

export async function runModuleTests(desc: Descriptor, timeoutMs = 60_000): Promise<TestResult> {
  const match = picomatch(desc.test.files.length ? desc.test.files : ['__none__']);
  const files = listFiles(desc.dir).filter((f) => match(f)).sort();
  if (!files.length) return { ok: true, files, output: `${desc.name}: no test files` };
  let output = '';
  let ok = true;
  for (const file of files) {
    const r = await runOne(join(desc.dir, file), desc.dir, timeoutMs);
    output += `--- ${file}: ${r.ok ? 'ok' : 'FAILED'}\n${r.output}`;
    ok &&= r.ok;
  }
  return { ok, files, output };
}

// Resolved here, so module tests find tsx wherever the module folder lives, and `cheshire/sdk`
// (the host's copy, through a resolve hook) even when the folder has no node_modules/cheshire.
const TSX = import.meta.resolve('tsx');
const SDK_HOOK = new URL('./loader/sdk-register.ts', import.meta.url).href;

function runOne(file: string, cwd: string, timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', TSX, '--import', SDK_HOOK, file], { cwd, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const timer = setTimeout(() => { output += `\n(killed after ${timeoutMs} ms)`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output });
    });
  });
}
