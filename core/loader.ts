// The evictable loader. A module's own files are bundled by esbuild into one CommonJS script
// and evaluated with `vm`; nothing of it enters Node's module maps, so an old version is
// garbage-collected once nothing references it. We do NOT reload with `import(url?v=n)`:
// every such URL stays in the ESM map forever (~21 KB per reload measured). Imports that
// leave the module's folder (core, node_modules, node: builtins) are loaded natively, once,
// through import(), so singletons and `instanceof` keep working across reloads.
import { createHash } from 'node:crypto';
import { basename, dirname, isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { chsError } from './errors.ts';
import { moduleTimers } from './timers.ts';
import type { Descriptor, ModuleExports } from './types.ts';

export interface LoadedCode {
  /** sha256 of the bundled code, short: identifies a version of the module's files. */
  hash: string;
  code: string;
  /** Natively loaded namespaces of the imports that leave the module's folder. */
  externals: Map<string, unknown>;
  /** Absolute paths of the module's own files that went into the bundle. */
  files: string[];
}

/** What the loader needs to know of a unit of code: a module, or a single tree file (styx-provider). */
export type CodeUnit = Pick<Descriptor, 'name' | 'dir' | 'entry'>;

/** Bundles the unit's entry; throws CHS_ERR_MODULE_LOAD with esbuild's messages. */
export async function bundleModule(desc: CodeUnit): Promise<LoadedCode> {
  const dir = desc.dir + sep;
  const entry = join(desc.dir, desc.entry);
  const externalSpecs = new Map<string, string>(); // specifier as written -> how to import() it
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      metafile: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      logLevel: 'silent',
      absWorkingDir: desc.dir,
      plugins: [
        {
          name: 'cheshire-externals',
          setup(build: esbuild.PluginBuild) {
            build.onResolve({ filter: /.*/ }, async (args: esbuild.OnResolveArgs) => {
              if (args.kind === 'entry-point') return undefined;
              const local = args.path.startsWith('.') || isAbsolute(args.path);
              if (!local) {
                externalSpecs.set(args.path, args.path);
                return { path: args.path, external: true };
              }
              const target = resolvePath(args.resolveDir, args.path);
              if (target.startsWith(dir)) return undefined; // the module's own file: bundle it
              const url = pathToFileURL(target).href;
              externalSpecs.set(url, url);
              return { path: url, external: true };
            });
          },
        },
      ],
    });
  } catch (err) {
    const msgs = (err as esbuild.BuildFailure).errors?.map((e) => `${e.location?.file ?? ''}:${e.location?.line ?? ''}: ${e.text}`) ?? [String(err)];
    throw chsError('CHS_ERR_MODULE_LOAD', `${desc.name}: ${msgs.join('; ')}`, err);
  }
  const code = result.outputFiles[0]!.text;
  const externals = new Map<string, unknown>();
  for (const spec of externalSpecs.keys()) {
    try {
      externals.set(spec, await import(spec));
    } catch (err) {
      throw chsError('CHS_ERR_MODULE_LOAD', `${desc.name}: cannot import "${spec}": ${(err as Error).message}`, err);
    }
  }
  const files = Object.keys(result.metafile.inputs).map((f) => resolvePath(desc.dir, f));
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 12);
  return { hash, code, externals, files };
}

const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', ...Object.keys(moduleTimers)];

/**
 * Evaluates bundled code in this realm and returns its exports. The timer globals are
 * replaced by ones that register with the running instance (released on its stop, errors
 * attributed to it).
 */
export function evaluateModule(desc: Descriptor, loaded: LoadedCode): ModuleExports {
  const exp = evaluateBundle(desc, loaded) as Partial<ModuleExports>;
  if (typeof exp.start !== 'function') throw chsError('CHS_ERR_MODULE_NO_START', `${desc.name}: ${desc.entry} does not export a start(ctx) function`);
  return exp as ModuleExports;
}

/** Evaluates bundled code and returns its exports (CHS_ERR_MODULE_LOAD if it throws). */
export function evaluateBundle(desc: CodeUnit, loaded: LoadedCode): Record<string, unknown> {
  const filename = join(desc.dir, desc.entry);
  // compileFunction, not vm.Script: V8's compilation cache keeps every Script's source alive
  // (measured ~6 MB per 1000 reloads of hello on Node 20), compileFunction's is collected.
  const fn = vm.compileFunction(loaded.code, WRAPPER_PARAMS, { filename }) as (...args: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  const require = (spec: string): unknown => {
    if (!loaded.externals.has(spec)) throw new Error(`${desc.name}: require("${spec}") was not seen at bundle time`);
    return asEsModule(loaded.externals.get(spec));
  };
  try {
    fn(module.exports, require, module, filename, desc.dir, ...Object.values(moduleTimers));
  } catch (err) {
    throw chsError('CHS_ERR_MODULE_LOAD', `${desc.name}: evaluating ${relative(process.cwd(), filename)} threw: ${(err as Error).message}`, err);
  }
  return module.exports;
}

/** Loads one file (and what it imports from its folder) fresh: the evictable path, for trees in files. */
export async function loadCodeFile(file: string): Promise<{ hash: string; exports: Record<string, unknown> }> {
  const unit: CodeUnit = { name: basename(file), dir: dirname(file), entry: basename(file) };
  const loaded = await bundleModule(unit);
  return { hash: loaded.hash, exports: evaluateBundle(unit, loaded) };
}

const esCache = new WeakMap<object, object>();
/** esbuild's interop reads `__esModule` to use a namespace's `default` as the default import. */
function asEsModule(ns: unknown): unknown {
  if (ns === null || typeof ns !== 'object') return ns;
  let wrapped = esCache.get(ns);
  if (!wrapped) {
    wrapped = Object.defineProperty({ ...(ns as object) }, '__esModule', { value: true });
    esCache.set(ns, wrapped);
  }
  return wrapped;
}
