// Reads a module's static descriptor — its package.json name/version and `cheshire` field —
// without running any of its code, and normalises it into a Descriptor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { ajv, describeAjvErrors } from './schema.ts';
import { chsError } from './errors.ts';
import type { Descriptor, Isolation, IsolationLimits, Requirement, TypecheckPolicy } from './types.ts';

const requirementSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['service'],
  properties: {
    service: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' },
    range: { type: 'string' },
    policy: { enum: ['static', 'dynamic'] },
    cardinality: { enum: ['1', '0..1', '0..n', '1..n'] },
    as: { type: 'string', pattern: '^[A-Za-z_$][A-Za-z0-9_$]*$' },
  },
} as const;

const fieldSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    entry: { type: 'string' },
    provides: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' } },
    requires: { type: 'array', items: requirementSchema },
    config: {
      type: 'object',
      additionalProperties: false,
      properties: { schema: { type: 'object' }, defaults: { type: 'object' } },
    },
    watch: { type: 'array', items: { type: 'string' } },
    test: {
      type: 'object',
      additionalProperties: false,
      properties: { files: { type: 'array', items: { type: 'string' } }, beforeActivate: { type: 'boolean' } },
    },
    timeouts: {
      type: 'object',
      additionalProperties: false,
      properties: { startMs: { type: 'integer', minimum: 1 }, stopMs: { type: 'integer', minimum: 1 }, stallMs: { type: 'integer', minimum: 0 }, callMs: { type: 'integer', minimum: 0 } },
    },
    typecheck: { enum: ['warn', 'refuse', 'off'] },
    health: {
      type: 'object',
      additionalProperties: false,
      properties: { intervalMs: { type: 'integer', minimum: 1 }, timeoutMs: { type: 'integer', minimum: 1 } },
    },
    isolation: { enum: ['none', 'worker', 'process'] },
    resourceLimits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxOldGenerationSizeMb: { type: 'number', exclusiveMinimum: 0 },
        maxYoungGenerationSizeMb: { type: 'number', exclusiveMinimum: 0 },
        codeRangeSizeMb: { type: 'number', exclusiveMinimum: 0 },
        stackSizeMb: { type: 'number', exclusiveMinimum: 0 },
      },
    },
  },
} as const;

const validateField = ajv.compile(fieldSchema);

interface RawField {
  entry?: string;
  provides?: string[];
  requires?: Array<Partial<Requirement> & { service: string }>;
  config?: { schema?: Record<string, unknown>; defaults?: Record<string, unknown> };
  watch?: string[];
  test?: { files?: string[]; beforeActivate?: boolean };
  timeouts?: { startMs?: number; stopMs?: number; stallMs?: number; callMs?: number };
  typecheck?: TypecheckPolicy;
  health?: { intervalMs?: number; timeoutMs?: number };
  isolation?: Isolation;
  resourceLimits?: IsolationLimits;
}

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

/** Reads `<dir>/package.json`; throws CHS_ERR_DESCRIPTOR_INVALID naming the file and the problem. */
export function readDescriptor(dir: string): Descriptor {
  const file = join(dir, 'package.json');
  const bad = (what: string) => chsError('CHS_ERR_DESCRIPTOR_INVALID', `${file}: ${what}`);
  let pkg: { name?: unknown; version?: unknown; description?: unknown; cheshire?: unknown };
  try {
    pkg = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw bad(`cannot read package.json (${(err as Error).message})`);
  }
  if (typeof pkg.name !== 'string' || !NAME.test(pkg.name)) throw bad(`"name" must be a lowercase module name, got ${JSON.stringify(pkg.name)}`);
  if (typeof pkg.version !== 'string' || !semver.valid(pkg.version)) throw bad(`"version" must be a semver version, got ${JSON.stringify(pkg.version)}`);
  if (typeof pkg.cheshire !== 'object' || pkg.cheshire === null) throw bad('no "cheshire" descriptor field');
  if (!validateField(pkg.cheshire)) throw bad(`"cheshire" ${describeAjvErrors(validateField.errors)}`);
  const f = pkg.cheshire as RawField;
  const requires = (f.requires ?? []).map((r): Requirement => {
    const range = r.range ?? '*';
    if (!semver.validRange(range)) throw bad(`requires ${r.service}: "${range}" is not a semver range`);
    return { service: r.service, range, policy: r.policy ?? 'static', cardinality: r.cardinality ?? '1', as: r.as ?? camel(r.service) };
  });
  const keys = new Set<string>();
  for (const r of requires) {
    if (keys.has(r.as)) throw bad(`requires: two dependencies bound as "${r.as}" (give one an "as")`);
    keys.add(r.as);
  }
  if (f.resourceLimits && f.isolation !== 'worker' && f.isolation !== 'process') throw bad('"resourceLimits" applies only with "isolation": "worker" or "process"');
  const configSchema = f.config?.schema ?? { type: 'object' };
  // validateSchema checks against the meta-schema without compiling: a compiled validator stays
  // in Ajv's scope forever, and descriptors are re-read on every reload.
  if (!ajv.validateSchema(configSchema)) throw bad(`config.schema is not a valid JSON Schema (${ajv.errorsText(ajv.errors)})`);
  return {
    name: pkg.name,
    version: pkg.version,
    description: typeof pkg.description === 'string' ? pkg.description : '',
    dir,
    entry: f.entry ?? 'index.ts',
    provides: f.provides ?? [],
    requires,
    configSchema,
    configDefaults: f.config?.defaults ?? {},
    watch: f.watch ?? ['**/*.ts', '**/*.js', '**/*.json'],
    test: { files: f.test?.files ?? [], beforeActivate: f.test?.beforeActivate ?? false },
    timeouts: {
      startMs: f.timeouts?.startMs ?? 10_000,
      stopMs: f.timeouts?.stopMs ?? 5_000,
      ...(f.timeouts?.stallMs !== undefined ? { stallMs: f.timeouts.stallMs } : {}),
      ...(f.timeouts?.callMs !== undefined ? { callMs: f.timeouts.callMs } : {}),
    },
    typecheck: f.typecheck ?? 'warn',
    health: { intervalMs: f.health?.intervalMs ?? 10_000, timeoutMs: f.health?.timeoutMs ?? 1_000 },
    isolation: f.isolation ?? 'none',
    ...(f.resourceLimits ? { resourceLimits: f.resourceLimits } : {}),
  };
}

/** `mainline-dht` -> `mainlineDht`, so a dependency is a valid identifier under ctx.deps. */
function camel(service: string): string {
  return service.replace(/[-.]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
