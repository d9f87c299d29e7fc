// Compiler options for one module: the host's own strict settings (its tsconfig.json), with
// `cheshire/sdk` mapped to the host's absolute sdk entry and Node's types taken from the host's
// node_modules, so a module folder anywhere on disk checks like one inside the repo. A module's
// own tsconfig.json wins over the host's settings, except for the cheshire/sdk mapping.
import { createRequire } from 'node:module';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ts, type TS } from './ts.ts';
import type { TypeUnit } from './types.ts';

// Resolved through the package's own `exports` (a self-reference), not by counting `../`, so
// moving this folder inside the host does not break it.
const hostRequire = createRequire(import.meta.url);
const HOST_ROOT = dirname(hostRequire.resolve('cheshire/package.json'));
const SDK_ENTRY = hostRequire.resolve('cheshire/sdk');

/** What a check of one unit compiles: roots, options, and problems found reading its tsconfig. */
export interface Setup {
  dir: string;
  roots: string[];
  options: TS.CompilerOptions;
  configErrors: readonly TS.Diagnostic[];
}

let hostOptions: TS.CompilerOptions | undefined;

/** The host tsconfig's compilerOptions, read once (its `include` is not scanned). */
function readHostOptions(): TS.CompilerOptions {
  if (hostOptions) return hostOptions;
  const file = join(HOST_ROOT, 'tsconfig.json');
  const json = ts.readConfigFile(file, ts.sys.readFile);
  if (json.error) throw new Error(`host ${file}: ${ts.flattenDiagnosticMessageText(json.error.messageText, '\n')}`);
  const parsed = ts.parseJsonConfigFileContent(json.config, { ...ts.sys, readDirectory: () => [] }, HOST_ROOT);
  // Host-relative leftovers that would mislead a module's program: its paths (replaced below),
  // and its config file path (diagnostics would be attributed to the host's tsconfig).
  const { paths: _paths, pathsBasePath: _base, configFilePath: _file, baseUrl: _url, ...options } = parsed.options;
  hostOptions = options;
  return options;
}

/** @types of the host (Node's types live there), or none if the host was installed without them. */
function hostTypeRoot(): string[] {
  try {
    return [dirname(dirname(hostRequire.resolve('@types/node/package.json', { paths: [HOST_ROOT] })))];
  } catch {
    return [];
  }
}

export function setupFor(unit: TypeUnit): Setup {
  const dir = realpathSync(unit.dir);
  const entry = resolve(dir, unit.entry);
  let options: TS.CompilerOptions = { ...readHostOptions() };
  let roots = [entry];
  let configErrors: readonly TS.Diagnostic[] = [];
  const own = join(dir, 'tsconfig.json');
  if (existsSync(own)) {
    const source = ts.readJsonConfigFile(own, ts.sys.readFile);
    const parsed = ts.parseJsonSourceFileConfigFileContent(source, ts.sys, dir, undefined, own);
    options = { ...options, ...parsed.options };
    roots = [...new Set([entry, ...parsed.fileNames])];
    // TS18003 "no inputs were found": the entry is always a root, so an empty include is fine.
    configErrors = parsed.errors.filter((d) => d.code !== 18003);
  }
  // The module's own @types first, then the host's (Node's), unless the module chose its own.
  options.typeRoots ??= [join(dir, 'node_modules', '@types'), ...hostTypeRoot()];
  options.paths = { ...options.paths, 'cheshire/sdk': [SDK_ENTRY] };
  // pathsBasePath is left unset (the mapping is absolute): it is part of the DocumentRegistry's
  // key, and a per-module value would stop modules sharing the parsed lib and @types/node files.
  // Checking never writes: esbuild bundles the module, and allowImportingTsExtensions needs it.
  options.noEmit = true;
  return { dir, roots, options, configErrors };
}
