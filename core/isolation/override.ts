// Where an instance runs when its role or cheshire.json says otherwise than its descriptor: the
// operator puts a heavy or untrusted module in its own process (`"isolation": { "heavy":
// "process" }`) without editing the module. The override makes a descriptor of its own for that
// instance and the exports that go with it, once per loaded code and override.
import type { Code } from '../instance.ts';
import type { LoadedCode } from '../loader/loaded-code.ts';
import { evaluateModule } from '../loader.ts';
import type { Descriptor, ModuleExports } from '../types.ts';
import type { IsolationOverride } from './override-schema.ts';
import { sparesOff } from './spares.ts';

const made = new WeakMap<Code, Map<string, ModuleExports>>();

/** The descriptor `desc` becomes under `o` (the descriptor itself when there is none). */
export function overriddenDescriptor(desc: Descriptor, o: IsolationOverride | undefined): Descriptor {
  if (o === undefined) return desc;
  const x = typeof o === 'string' ? { mode: o } : o;
  const { resourceLimits: _drop, ...rest } = desc;
  const limits = x.mode === 'none' ? undefined : x.resourceLimits ?? desc.resourceLimits;
  const out: Descriptor = {
    ...rest,
    isolation: x.mode,
    ...(limits ? { resourceLimits: limits } : {}),
    timeouts: {
      ...desc.timeouts,
      ...(x.stallMs !== undefined ? { stallMs: x.stallMs } : {}),
      ...(x.callMs !== undefined ? { callMs: x.callMs } : {}),
    },
  };
  if (x.spares === false) sparesOff.add(out);
  return out;
}

/** The exports an instance starts with: the code's own, or those of its override. */
export function exportsFor(code: Code, o: IsolationOverride | undefined): ModuleExports {
  if (o === undefined) return code.exports;
  const key = JSON.stringify(o);
  let byKey = made.get(code);
  if (!byKey) made.set(code, (byKey = new Map()));
  let exp = byKey.get(key);
  if (!exp) byKey.set(key, (exp = evaluateModule(overriddenDescriptor(code.desc, o), code.loaded)));
  return exp;
}

const modeOf = (desc: Descriptor, o: IsolationOverride | undefined) => (o === undefined ? desc.isolation : typeof o === 'string' ? o : o.mode);

/**
 * A module folder's own exports, given the overrides of the instances that run from it: when
 * its descriptor says `none` but every one of them is put in a worker or process, its code is not
 * evaluated in the host at all (an untrusted top level stays out); should one later run without
 * an override, its start evaluates the code then.
 */
export function codeExports(desc: Descriptor, loaded: LoadedCode, overrides: Array<IsolationOverride | undefined>): ModuleExports {
  if (desc.isolation !== 'none' || !overrides.length || overrides.some((o) => modeOf(desc, o) === 'none')) return evaluateModule(desc, loaded);
  let exp: ModuleExports | null = null;
  return { start: (ctx) => (exp ??= evaluateModule(desc, loaded)).start(ctx) };
}
