// The evictable loader. A module's own files are bundled by esbuild into one CommonJS script
// and evaluated with `vm`; nothing of it enters Node's module maps, so an old version is
// garbage-collected once nothing references it. We do NOT reload with `import(url?v=n)`:
// every such URL stays in the ESM map forever (~21 KB per reload measured). Imports that
// leave the module's folder (core, node_modules, node: builtins) are loaded natively, once,
// through import(), so singletons and `instanceof` keep working across reloads; where they
// resolve from is loader/resolve.ts. Stack traces are mapped back to the module's files by
// loader/stacks.ts, with a map that lives as long as the version's exports.
import { createHash } from 'node:crypto';
import { basename, dirname, join, relative, resolve as resolvePath } from 'node:path';
import vm from 'node:vm';
import * as esbuild from 'esbuild';
import { chsError } from './errors.ts';
import { moduleTimers } from './timers.ts';
import type { Descriptor, ModuleExports } from './types.ts';
import { NODE_LIKE_RESOLUTION, importsPlugin, type Externals } from './loader/resolve.ts';
import { errorLocation, installStackMapping, registerBundle, type BundleMap } from './loader/stacks.ts';
// Natively loaded dependencies of a module (outside its folder) find `cheshire/sdk` too.
import './loader/sdk-register.ts';
import { isolatedExports } from './isolation/host.ts';
import { asEsModule } from './loader/es-module.ts';
import type { LoadedCode } from './loader/loaded-code.ts';

export type { LoadedCode };

export { moduleStack, errorLocation } from './loader/stacks.ts';

installStackMapping();

/** What the loader needs to know of a unit of code: a module, or a single tree file (styx-provider). */
export type CodeUnit = Pick<Descriptor, 'name' | 'dir' | 'entry'>;

/** Bundles the unit's entry; throws CHS_ERR_MODULE_LOAD with esbuild's messages. */
export async function bundleModule(desc: CodeUnit): Promise<LoadedCode> {
  const entry = join(desc.dir, desc.entry);
  const externalSpecs: Externals = new Map();
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      // Never written (write: false); names the map's output: `sources` are relative to its folder.
      outfile: `${entry}.bundle.js`,
      bundle: true,
      write: false,
      metafile: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: 'external',
      sourcesContent: false,
      logLevel: 'silent',
      absWorkingDir: desc.dir,
      ...NODE_LIKE_RESOLUTION,
      plugins: [importsPlugin(desc, externalSpecs)],
    });
  } catch (err) {
    const msgs = (err as esbuild.BuildFailure).errors?.map((e) => `${where(desc.dir, e.location)}${e.text}`) ?? [String(err)];
    throw chsError('CHS_ERR_MODULE_LOAD', `${desc.name}: ${msgs.join('; ')}`, err);
  }
  const out = result.outputFiles.find((f) => f.path.endsWith('.js'))!;
  const map = result.outputFiles.find((f) => f.path.endsWith('.map'))?.text ?? '{"version":3,"sources":[],"names":[],"mappings":""}';
  const code = out.text;
  const externals = new Map<string, unknown>();
  for (const [spec, importer] of externalSpecs) {
    try {
      externals.set(spec, await import(spec));
    } catch (err) {
      throw chsError('CHS_ERR_MODULE_LOAD', `${desc.name}: ${resolvePath(desc.dir, importer)}: cannot import "${spec}": ${(err as Error).message}`, err);
    }
  }
  const files = Object.keys(result.metafile.inputs).map((f) => resolvePath(desc.dir, f));
  // The map is hashed too: a change that only moves lines must reload, or stacks would lie.
  const hash = createHash('sha256').update(code).update(map).digest('hex').slice(0, 12);
  return { hash, code, map, externals, files };
}

/** `abs/file:line:column: ` of an esbuild message (its column counts bytes, from 0). */
function where(dir: string, loc: esbuild.Location | null | undefined): string {
  if (!loc) return '';
  const col = Buffer.from(loc.lineText).subarray(0, loc.column).toString().length + 1;
  return `${resolvePath(dir, loc.file)}:${loc.line}:${col}: `;
}

const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', ...Object.keys(moduleTimers)];

/**
 * Evaluates bundled code in this realm and returns its exports. The timer globals are
 * replaced by ones that register with the running instance (released on its stop, errors
 * attributed to it).
 */
export function evaluateModule(desc: Descriptor, loaded: LoadedCode): ModuleExports {
  // An isolated module's code is evaluated in its worker or process, never in the host's realm.
  if (desc.isolation === 'worker' || desc.isolation === 'process') return isolatedExports(desc, loaded);
  const exp = evaluateBundle(desc, loaded) as Partial<ModuleExports>;
  if (typeof exp.start !== 'function') throw chsError('CHS_ERR_MODULE_NO_START', `${desc.name}: ${desc.entry} does not export a start(ctx) function`);
  return exp as ModuleExports;
}

/** What keeps each evaluated version's source map alive: its exports object. */
const mapsOf = new WeakMap<object, BundleMap>();

/** Evaluates bundled code and returns its exports (CHS_ERR_MODULE_LOAD if it throws). */
export function evaluateBundle(desc: CodeUnit, loaded: LoadedCode): Record<string, unknown> {
  const filename = join(desc.dir, desc.entry);
  // V8's name for this code: the entry's path plus the version, so frames of an old and a new
  // version (both alive during a reload) find their own map. Mapped frames show the real file.
  const vmName = `${filename}#${loaded.hash}`;
  const map = registerBundle(vmName, dirname(filename), loaded.map);
  // compileFunction, not vm.Script: V8's compilation cache keeps every Script's source alive
  // (measured ~6 MB per 1000 reloads of hello on Node 20), compileFunction's is collected.
  const fn = vm.compileFunction(loaded.code, WRAPPER_PARAMS, { filename: vmName }) as (...args: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  const require = (spec: string): unknown => {
    if (!loaded.externals.has(spec)) throw new Error(`${desc.name}: require("${spec}") was not seen at bundle time`);
    return asEsModule(loaded.externals.get(spec));
  };
  try {
    fn(module.exports, require, module, filename, desc.dir, ...Object.values(moduleTimers));
  } catch (err) {
    // Format the stack now, while `map` is still held.
    const at = errorLocation(err, desc.dir) ?? relative(process.cwd(), filename);
    throw chsError('CHS_ERR_MODULE_LOAD', `${desc.name}: evaluating ${at} threw: ${(err as Error).message}`, err);
  }
  if (Object(module.exports) === module.exports) mapsOf.set(module.exports, map);
  return module.exports;
}

/** Loads one file (and what it imports from its folder) fresh: the evictable path, for trees in files. */
export async function loadCodeFile(file: string): Promise<{ hash: string; exports: Record<string, unknown> }> {
  const unit: CodeUnit = { name: basename(file), dir: dirname(file), entry: basename(file) };
  const loaded = await bundleModule(unit);
  return { hash: loaded.hash, exports: evaluateBundle(unit, loaded) };
}

