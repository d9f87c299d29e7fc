// Where a module's imports go, decided at bundle time (an esbuild plugin). The module's own
// files, and source files it imports by relative path from beside it (a sibling module's), are
// bundled (and so reloaded); packages are left external and loaded natively, once, by the
// loader; the host's own files by path are refused (cheshire/sdk is the one way in). A bare import is resolved from the importing file's folder first, so a
// module outside the repo finds the dependencies of its own node_modules; only when that folder
// chain lacks the package does the host's copy serve (repo modules use the host's `ws`, ...).
// `cheshire/...` and Node built-ins always mean the host's single copy.
//
// Resolution from the module's folder is esbuild's own resolver (build.resolve): it follows
// package `exports` with the "node" + "import"/"require" conditions like Node does, for ESM-only
// and CJS packages alike. Node offers no public sync "resolve from this parent" outside the
// importing file (import.meta.resolve's parent argument is flag-gated; createRequire().resolve
// uses the "require" condition and fails on ESM-only packages).
import { isBuiltin } from 'node:module';
import { isAbsolute, resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as esbuild from 'esbuild';

/** esbuild settings that make its package resolution pick the file Node's `import` would. */
export const NODE_LIKE_RESOLUTION = { conditions: [] as string[], mainFields: ['main'] };

/** What the plugin decided to leave external: specifier as emitted -> the file that imported it. */
export type Externals = Map<string, string>;

const INNER = Symbol('cheshire-inner-resolve');

/** True for the host's own package: `cheshire/sdk` and any other `cheshire/...` export. */
export function isHostSpecifier(spec: string): boolean {
  return spec === 'cheshire' || spec.startsWith('cheshire/');
}

/** The host's own source folders: reached only through cheshire/sdk. */
const HOST_DIRS = ['base', 'core', 'fs'].map((d) => fileURLToPath(new URL(`../../${d}/`, import.meta.url)));

function isHostFile(file: string): boolean {
  return HOST_DIRS.some((d) => file.startsWith(d));
}

/** The host's resolution (its package's self-reference, its node_modules), or null. */
function resolveFromHost(spec: string): string | null {
  try {
    return import.meta.resolve(spec);
  } catch {
    return null;
  }
}

export function importsPlugin(unit: { name: string; dir: string }, externals: Externals): esbuild.Plugin {
  const prefix = unit.dir + sep;
  const deps = `${sep}node_modules${sep}`;
  // The module's own files are bundled: under its folder, but not in a node_modules there.
  const isOwn = (file: string) => file.startsWith(prefix) && !file.slice(prefix.length - 1).includes(deps);
  const external = (spec: string, importer: string): esbuild.OnResolveResult => {
    if (!externals.has(spec)) externals.set(spec, importer);
    return { path: spec, external: true };
  };
  return {
    name: 'cheshire-imports',
    setup(build) {
      // The module's own files are resolved here too, not left to esbuild: a file esbuild resolves
      // itself carries its package.json "type", and for "module" esbuild emits Node-mode interop
      // (a default import is the whole required value), which would break `import x from` an
      // external ESM default export or CJS package; plugin-resolved files get the `__esModule`
      // interop that the loader's namespaces are made for (default = the namespace's default).
      const esbuildResolve = (spec: string, args: esbuild.OnResolveArgs) =>
        build.resolve(spec, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { [INNER]: true } });
      build.onResolve({ filter: /.*/ }, async (args) => {
        if ((args.pluginData as { [INNER]?: boolean } | undefined)?.[INNER]) return undefined;
        const spec = args.path;
        if (args.kind === 'entry-point') return { path: resolvePath(unit.dir, spec) };
        if (spec.startsWith('.') || isAbsolute(spec)) {
          const target = resolvePath(args.resolveDir, spec);
          if (isHostFile(target)) {
            return { errors: [{ text: `${unit.name}: imports the host's own file ${target} by path; import it from "cheshire/sdk" instead (the host's internals are not an API)` }] };
          }
          if (!isOwn(target) && target.includes(deps)) return external(pathToFileURL(target).href, args.importer);
          // The module's own files, and source files it shares with a sibling module by path
          // (mainline-dht uses ../dht/): bundled, so they reload with it and their own imports
          // resolve like the module's.
          const r = await esbuildResolve(spec, args);
          return r.errors.length ? { errors: r.errors } : { path: r.path };
        }
        if (isBuiltin(spec)) return external(spec, args.importer);
        if (!isHostSpecifier(spec)) {
          const r = await esbuildResolve(spec, args);
          if (!r.errors.length && r.path && !r.external) {
            // A package.json "imports" (#x) mapping may point back into the module's own files.
            return isOwn(r.path) ? { path: r.path } : external(pathToFileURL(r.path).href, args.importer);
          }
        }
        const hosted = resolveFromHost(spec);
        if (hosted) return external(hosted, args.importer);
        const where = isHostSpecifier(spec) ? 'the host package does not export it' : `not in the node_modules of ${args.resolveDir} or above, nor the host's`;
        return { errors: [{ text: `${unit.name}: cannot resolve import "${spec}": ${where}` }] };
      });
    },
  };
}
