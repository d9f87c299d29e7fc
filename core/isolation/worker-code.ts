// The isolate's own code: worker-main.ts and what it imports (the isolate's SDK included, loaded
// lazily), bundled once per host process by esbuild into one CommonJS script. A worker thread runs
// it with `eval`; a child process is forked from a copy written once per host process in a folder
// of its own under the OS temp folder. An isolate started from
// the .ts file would need tsx inside it (on Node 20 `--import tsx` in a worker's execArgv does not
// reach the worker's entry), and would pay tsx's start-up for every incarnation.
import { rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

let code: Promise<string> | null = null;
let file: Promise<string> | null = null;

export function workerCode(): Promise<string> {
  code ??= build().catch((err: unknown) => {
    code = null;
    throw err;
  });
  return code;
}

/** The runtime as a file a child process can be forked from (written once per host process). */
export function runtimeFile(): Promise<string> {
  file ??= write().catch((err: unknown) => {
    file = null;
    throw err;
  });
  return file;
}

async function write(): Promise<string> {
  const text = await workerCode();
  // A folder of this host process's own (mkdtemp: new, 0700), never one another user could have
  // made beforehand in a shared temp folder; removed when the process exits.
  const dir = await mkdtemp(join(tmpdir(), 'cheshire-isolation-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const target = join(dir, 'runtime.cjs');
  await writeFile(target, text, { mode: 0o600 });
  return target;
}

async function build(): Promise<string> {
  const entry = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
    // Type-only imports (pino, prom-client) vanish; nothing else outside Node is imported.
    external: ['pino', 'prom-client'],
    // loader/stacks.ts finds the host's folders from its own URL (to drop host frames from stacks).
    define: { 'import.meta.url': JSON.stringify(new URL('../loader/stacks.ts', import.meta.url).href) },
  });
  return out.outputFiles[0]!.text;
}
