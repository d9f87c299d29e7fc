// The isolate's own code: worker-main.ts and what it imports (the isolate's SDK included, loaded
// lazily), bundled once per host process by esbuild into one CommonJS script. A worker thread runs
// it with `eval`; a child process is forked from a copy written once per host process under the
// OS temp folder (named by its hash, so hosts of the same code share it). An isolate started from
// the .ts file would need tsx inside it (on Node 20 `--import tsx` in a worker's execArgv does not
// reach the worker's entry), and would pay tsx's start-up for every incarnation.
import { createHash } from 'node:crypto';
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
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
  const dir = join(tmpdir(), 'cheshire-isolation');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const target = join(dir, `runtime-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.cjs`);
  const have = await stat(target).catch(() => null);
  if (have?.size === Buffer.byteLength(text)) return target;
  const tmp = `${target}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, target);
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
