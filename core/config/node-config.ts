// cheshire.json and the role presets: schemas, defaults, and loading with errors that name the
// file, the key and what was expected.
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chsError } from '../errors.ts';
import { ajv, describeAjvErrors } from '../schema.ts';
import { DEFAULT_SUPERVISOR, type SupervisorOptions } from '../supervisor.ts';
import { readJsonFile } from './atomic.ts';
import type { RevisionRetention } from './revisions.ts';
import { moduleStoreDir } from '../install/store.ts';
import { DEFAULT_LOG_FILES, type LogFileOptions } from '../logs/files.ts';
import { isolationOverrideSchema, type IsolationOverride } from '../isolation/override-schema.ts';

/** The Cheshire install's own folder (holds the stock config/roles and modules). */
export const INSTALL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface NodeConfig {
  node: string;
  role: string;
  moduleDirs: string[];
  stateDir: string;
  /**
   * Per-instance config, keyed by instance id (`hello`, `greeter#fr`). An instance named here that
   * the role does not list runs too (how `cheshire enable` adds one).
   */
  modules: Record<string, Record<string, unknown>>;
  /** Instance ids planned but not started (`cheshire disable`), their config kept. */
  disabled: string[];
  /**
   * Instance id -> the module folder it runs from instead of the module directories (`cheshire
   * enable hello#beta --from DIR`: a copy tried beside the live one, then promoted).
   */
  sources: Record<string, string>;
  supervisor: SupervisorOptions;
  dependencies: { waitMs: number };
  watch: { enabled: boolean; debounceMs: number };
  /** Type-checking of reloaded modules (their descriptor's `typecheck` says warn/refuse/off). */
  typecheck: { enabled: boolean; idleMs: number };
  /** Config revisions kept per instance: the newest `keep`, none older than `maxAgeDays` (0: no age limit); the current one and pinned ones always. */
  revisions: RevisionRetention;
  /** The event-loop and memory watchdog (core/watchdog): stall and kill thresholds, memory limits (0: none). */
  watchdog: WatchdogOptions;
  /** Per-instance log files under <stateDir>/logs: rotated at maxBytes, maxFiles kept (the current one included). */
  logs: LogFileOptions;
  /** Instance id -> where it runs, over its descriptor's `isolation` (and the role's): core/isolation/override.ts. */
  isolation: Record<string, IsolationOverride>;
}

export interface WatchdogOptions {
  enabled: boolean;
  /** A loop that does not tick for longer is a stall: logged, blamed, counted as a crash. */
  blockedMs: number;
  /** A stall this long ends the process (exit 70, crash record); 0: never. */
  killAfterMs: number;
  /** Warn when the heap used / the RSS exceeds this many MB (0: no limit). */
  heapMb: number;
  rssMb: number;
}

export const DEFAULT_WATCHDOG: WatchdogOptions = { enabled: true, blockedMs: 1_000, killAfterMs: 10_000, heapMb: 1_024, rssMb: 2_048 };

export interface RolePreset {
  name: string;
  description: string;
  /** Role entries: `name`, `name#instance`, `name@range`, `name@range#instance`. */
  modules: string[];
  /** Instances whose failure to start fails the whole start-up (-> failsafe mode). */
  required: string[];
  config: Record<string, Record<string, unknown>>;
  /** Instance id -> where it runs (`"heavy": "process"`), over its descriptor's `isolation`. */
  isolation: Record<string, IsolationOverride>;
}

const posInt = { type: 'integer', minimum: 0 } as const;
const nodeSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    node: { type: 'string', minLength: 1 },
    role: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*$' },
    moduleDirs: { type: 'array', items: { type: 'string' } },
    stateDir: { type: 'string' },
    modules: { type: 'object', additionalProperties: { type: 'object' } },
    sources: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    disabled: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*(@[^#\\s]+)?(#[A-Za-z0-9._-]+)?$' }, uniqueItems: true },
    supervisor: {
      type: 'object',
      additionalProperties: false,
      properties: { maxRestarts: posInt, windowMs: posInt, backoffMs: posInt, backoffMaxMs: posInt },
    },
    dependencies: { type: 'object', additionalProperties: false, properties: { waitMs: posInt } },
    watch: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, debounceMs: posInt } },
    typecheck: { type: 'object', additionalProperties: false, properties: { enabled: { type: 'boolean' }, idleMs: posInt } },
    revisions: { type: 'object', additionalProperties: false, properties: { keep: posInt, maxAgeDays: { type: 'integer', minimum: 0 } } },
    logs: {
      type: 'object',
      additionalProperties: false,
      properties: { maxBytes: { type: 'integer', minimum: 1024 }, maxFiles: { type: 'integer', minimum: 1, maximum: 1000 } },
    },
    watchdog: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean' }, blockedMs: { type: 'integer', minimum: 50 }, killAfterMs: posInt, heapMb: posInt, rssMb: posInt },
    },
    isolation: isolationOverrideSchema,
  },
} as const;
const validateNode = ajv.compile(nodeSchema);

const roleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['modules'],
  properties: {
    $schema: { type: 'string' },
    description: { type: 'string' },
    modules: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]*(@[^#\\s]+)?(#[A-Za-z0-9._-]+)?$' } },
    required: { type: 'array', items: { type: 'string' } },
    config: { type: 'object', additionalProperties: { type: 'object' } },
    isolation: isolationOverrideSchema,
  },
} as const;
const validateRole = ajv.compile(roleSchema);

/** Validates parsed cheshire.json content and fills defaults. */
export function parseNodeConfig(raw: unknown, file: string): NodeConfig {
  if (!validateNode(raw)) throw chsError('CHS_ERR_CONFIG_INVALID', `${file}: ${describeAjvErrors(validateNode.errors, raw)}`);
  const c = raw as Partial<NodeConfig> & { supervisor?: Partial<SupervisorOptions> };
  return {
    node: c.node ?? 'cheshire',
    role: c.role ?? 'dev',
    moduleDirs: c.moduleDirs ?? ['modules'],
    stateDir: c.stateDir ?? '.cheshire',
    modules: c.modules ?? {},
    disabled: c.disabled ?? [],
    sources: c.sources ?? {},
    supervisor: { ...DEFAULT_SUPERVISOR, ...c.supervisor },
    dependencies: { waitMs: c.dependencies?.waitMs ?? 5_000 },
    watch: { enabled: c.watch?.enabled ?? true, debounceMs: c.watch?.debounceMs ?? 2 },
    typecheck: { enabled: c.typecheck?.enabled ?? true, idleMs: c.typecheck?.idleMs ?? 120_000 },
    revisions: { keep: c.revisions?.keep ?? 100, maxAgeDays: c.revisions?.maxAgeDays ?? 90 },
    watchdog: { ...DEFAULT_WATCHDOG, ...c.watchdog },
    logs: { ...DEFAULT_LOG_FILES, ...c.logs },
    isolation: c.isolation ?? {},
  };
}

export async function loadNodeConfig(file: string): Promise<NodeConfig> {
  return parseNodeConfig(await readJsonFile(file), file);
}

/** Finds `<role>.json` in the config's own config/roles, then in the install's. */
export function roleFile(role: string, base: string): string {
  for (const dir of [join(base, 'config/roles'), join(INSTALL_DIR, 'config/roles')]) {
    const f = join(dir, `${role}.json`);
    if (existsSync(f)) return f;
  }
  throw chsError('CHS_ERR_ROLE_NOT_FOUND', `role "${role}" has no preset (looked for config/roles/${role}.json in ${base} and ${INSTALL_DIR})`);
}

/** The role presets that can be named: `config/roles/*.json` beside the config, then Cheshire's own. */
export function knownRoles(base: string): string[] {
  const names = new Set<string>();
  for (const dir of [join(base, 'config/roles'), join(INSTALL_DIR, 'config/roles')]) {
    try {
      for (const f of readdirSync(dir)) if (f.endsWith('.json')) names.add(f.slice(0, -5));
    } catch { /* no such folder */ }
  }
  return [...names].sort();
}

export async function loadRole(role: string, base: string): Promise<RolePreset> {
  const file = roleFile(role, base);
  const raw = await readJsonFile(file);
  if (!validateRole(raw)) throw chsError('CHS_ERR_CONFIG_INVALID', `${file}: ${describeAjvErrors(validateRole.errors, raw)}`);
  const r = raw as Partial<RolePreset>;
  return { name: role, description: r.description ?? '', modules: r.modules ?? [], required: r.required ?? [], config: r.config ?? {}, isolation: r.isolation ?? {} };
}

/** `name@range#inst` -> parts. */
export function parseRoleEntry(entry: string): { name: string; range: string; instance?: string } {
  const m = /^([^@#]+)(?:@([^#]+))?(?:#(.+))?$/.exec(entry);
  if (!m) throw chsError('CHS_ERR_CONFIG_INVALID', `role entry "${entry}" is not name[@range][#instance]`);
  return { name: m[1]!, range: m[2] ?? '*', instance: m[3] };
}

/** The instance id a role entry plans (`greeter@^1#fr` -> `greeter#fr`). */
export function entryId(entry: string): string {
  const { name, instance } = parseRoleEntry(entry);
  return instance ? `${name}#${instance}` : name;
}

/** Instances cheshire.json configures that the role does not list: they run as well. */
export function extraEntries(role: RolePreset, config: NodeConfig): string[] {
  const listed = new Set(role.modules.map(entryId));
  return Object.keys(config.modules).filter((id) => !listed.has(id));
}

/** Where the node looks for modules: its moduleDirs, then its module store (`cheshire install`). */
export function moduleSearchDirs(config: NodeConfig, base: string): string[] {
  return [...config.moduleDirs.map((d) => resolve(base, d)), moduleStoreDir(resolve(base, config.stateDir))];
}
