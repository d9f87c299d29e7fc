// How an isolate evaluates a module's bundle (at an incarnation's boot, or ahead of it in a spare):
// its externals imported natively, cheshire/sdk served from the isolate's own SDK (./sdk.ts), the
// code compiled under the name stack traces map through, as the host's loader does in-process.
import { dirname } from 'node:path';
import vm from 'node:vm';
import { chsError } from '../errors.ts';
import { asEsModule } from '../loader/es-module.ts';
import { installStackMapping, registerBundle } from '../loader/stacks.ts';
import type { ModuleExports } from '../types.ts';
import type { Bundle } from './protocol.ts';

/** The isolate's SDK, loaded once (ahead of time in a spare, which has nothing else to do). */
let sdk: Promise<typeof import('./sdk.ts')> | null = null;
export const loadSdk = () => (sdk ??= import('./sdk.ts'));

/** Source maps of the bundles this isolate evaluated, kept alive while it runs (stack traces map through them). */
const maps: object[] = [];

/** Evaluates a module's bundle in this isolate; `who` names it in errors (the instance, or the module in a spare). */
export async function loadBundle(b: Bundle, who: string): Promise<ModuleExports> {
  const unsupported = (member: string) =>
    chsError('CHS_ERR_ISOLATION_UNSUPPORTED', `${who}: ${member} is not available in an isolated (${b.kind}) module (docs/modules.md, "Isolation")`);
  installStackMapping();
  maps.push(registerBundle(b.vmName, dirname(b.filename), b.map));
  const externals = new Map<string, unknown>();
  for (const spec of b.externals) {
    if (spec === b.sdkUrl) {
      externals.set(spec, sdkFacade(await loadSdk(), unsupported));
      continue;
    }
    // Other TypeScript the host resolves is run by the host's tsx, which an isolate does not have.
    if (/\.[cm]?ts$/.test(spec)) throw unsupported(`import of "${spec}" (a value import of the host's TypeScript other than cheshire/sdk)`);
    try {
      externals.set(spec, await import(spec));
    } catch (err) {
      throw chsError('CHS_ERR_MODULE_LOAD', `${b.name}: cannot import "${spec}" in the ${b.kind}: ${(err as Error).message}`, err);
    }
  }
  const fn = vm.compileFunction(b.code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: b.vmName }) as (...a: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  const require = (spec: string): unknown => {
    if (!externals.has(spec)) throw new Error(`${b.name}: require("${spec}") was not seen at bundle time`);
    const ns = externals.get(spec);
    return spec === b.sdkUrl ? ns : asEsModule(ns);
  };
  try {
    fn(module.exports, require, module, b.filename, b.dir);
  } catch (err) {
    throw chsError('CHS_ERR_MODULE_LOAD', `${b.name}: evaluating ${b.filename} threw: ${(err as Error).message}`, err);
  }
  const exp = module.exports as Partial<ModuleExports>;
  if (typeof exp.start !== 'function') throw chsError('CHS_ERR_MODULE_NO_START', `${b.name}: ${b.filename} does not export a start(ctx) function`);
  return exp as ModuleExports;
}

/** The isolate's SDK as the bundle's require() returns it: a member it lacks throws, naming it. */
function sdkFacade(ns: object, unsupported: (member: string) => Error): object {
  const real = { ...ns } as Record<string, unknown>;
  return new Proxy(real, {
    get(t, prop) {
      if (typeof prop === 'symbol' || prop === '__esModule') return prop === '__esModule' ? true : undefined;
      if (prop in t) return t[prop];
      if (prop === 'default' || prop === 'then') return undefined;
      throw unsupported(`cheshire/sdk's ${prop}`);
    },
  });
}

