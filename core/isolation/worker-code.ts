// The worker's own code: worker-main.ts and what it imports, bundled once per host process by
// esbuild into one CommonJS script that Worker runs with `eval`. A worker started from the .ts
// file would need tsx inside it (on Node 20 `--import tsx` in a worker's execArgv does not
// reach the worker's entry), and would pay tsx's start-up for every incarnation.
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

let code: Promise<string> | null = null;

export function workerCode(): Promise<string> {
  code ??= build().catch((err: unknown) => {
    code = null;
    throw err;
  });
  return code;
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
