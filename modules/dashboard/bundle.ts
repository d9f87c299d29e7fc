// The page's code, bundled at module start with esbuild (client/main.js and what it imports:
// preact, htm, @dagrejs/dagre, client/style.css), so no build step is anyone's job. Kept in memory
// and served under its content hash.
//
// Packages resolve from the client's own folder chain first; a dashboard copied somewhere without
// a node_modules (a test's temp project, a module store) falls back to the host's: the folder of
// the script node runs (the CLI, a test file) and the working directory.
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { dashboardError } from './errors.ts';

export interface ClientBundle {
  hash: string;
  js: string;
  map: string;
  css: string;
  /** The client files that went into it (for the client watcher). */
  files: string[];
  ms: number;
}

const FALLBACK = Symbol('dashboard-fallback');

function hostFallback(bases: string[]): esbuild.Plugin {
  return {
    name: 'dashboard-host-packages',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if ((args.pluginData as { [FALLBACK]?: boolean } | undefined)?.[FALLBACK]) return undefined;
        const own = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { [FALLBACK]: true } });
        if (!own.errors.length) return own;
        for (const base of bases) {
          const r = await build.resolve(args.path, { kind: args.kind, resolveDir: base, importer: args.importer, pluginData: { [FALLBACK]: true } });
          if (!r.errors.length) return r;
        }
        return own;
      });
    },
  };
}

export async function bundleClient(moduleDir: string): Promise<ClientBundle> {
  const started = performance.now();
  const clientDir = join(moduleDir, 'client');
  const bases = [process.argv[1] ? dirname(process.argv[1]) : null, process.cwd()].filter((b): b is string => !!b);
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [join(clientDir, 'main.js')],
      outfile: join(clientDir, 'app.js'),
      bundle: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'browser',
      target: ['chrome110', 'firefox115', 'safari16'],
      minify: true,
      sourcemap: 'external',
      legalComments: 'none',
      logLevel: 'silent',
      absWorkingDir: moduleDir,
      plugins: [hostFallback(bases)],
    });
  } catch (err) {
    const msgs = (err as esbuild.BuildFailure).errors?.map((e) => `${e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : ''}${e.text}`) ?? [String(err)];
    throw dashboardError('CHS_ERR_DASHBOARD_CLIENT', `dashboard: cannot bundle ${clientDir}: ${msgs.join('; ')}`, err);
  }
  const out = (ext: string) => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  const js = out('.js');
  const css = out('.css');
  const map = out('.js.map');
  const hash = createHash('sha256').update(js).update(css).digest('hex').slice(0, 12);
  const files = Object.keys(result.metafile.inputs).map((f) => join(moduleDir, f)).filter((f) => f.startsWith(clientDir));
  return { hash, js, map, css, files, ms: Math.round(performance.now() - started) };
}
