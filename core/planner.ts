// Turns a role's entries into the set of instances to run: picks the module version for each
// entry, adds providers that requirements need (a second version of a module when ranges
// differ), matches providers to requirements, and computes the dependency edges.
import semver from 'semver';
import { pickModule } from './discover.ts';
import { chsError } from './errors.ts';
import { ajv, describeAjvErrors } from './schema.ts';
import { parseRoleEntry } from './config/node-config.ts';
import type { Descriptor, Requirement } from './types.ts';

export interface Planned {
  id: string;
  desc: Descriptor;
}

/** Best first: highest version, then the unnamed instance, then by id. */
export function providersFor<T extends Planned>(req: Requirement, candidates: Iterable<T>): T[] {
  return [...candidates]
    .filter((c) => c.desc.provides.includes(req.service) && semver.satisfies(c.desc.version, req.range))
    .sort((a, b) => semver.rcompare(a.desc.version, b.desc.version) || Number(a.id.includes('#')) - Number(b.id.includes('#')) || a.id.localeCompare(b.id));
}

/** The providers a requirement binds to: one for 1 / 0..1, all for 0..n / 1..n. */
export function bindingFor<T extends Planned>(req: Requirement, candidates: Iterable<T>): T[] {
  const all = providersFor(req, candidates);
  return req.cardinality === '1' || req.cardinality === '0..1' ? all.slice(0, 1) : all;
}

function idFor(desc: Descriptor, instance: string | undefined, taken: Map<string, Planned>): string {
  const suffix = instance ? `#${instance}` : '';
  const plain = desc.name + suffix;
  const existing = taken.get(plain);
  return !existing || existing.desc.dir === desc.dir ? plain : `${desc.name}@${desc.version}${suffix}`;
}

/**
 * Plans the instances for role entries. Entries that name no module are reported in `errors`;
 * requirements that nothing can satisfy are left for the host to show as `waiting`.
 */
export function planInstances(
  entries: string[],
  found: Descriptor[],
  opts: { initial?: Iterable<Planned>; optional?: string[]; sources?: ReadonlyMap<string, Descriptor> } = {},
): { planned: Map<string, Planned>; errors: Error[]; skipped: Error[] } {
  const planned = new Map<string, Planned>();
  for (const p of opts.initial ?? []) planned.set(p.id, p);
  const add = (desc: Descriptor, instance?: string) => {
    const id = idFor(desc, instance, planned);
    if (!planned.has(id)) planned.set(id, { id, desc });
  };
  const plan = (list: string[], errs: Error[]) => {
    for (const entry of list) {
      try {
        const { name, range, instance } = parseRoleEntry(entry);
        const own = opts.sources?.get(instance ? `${name}#${instance}` : name);
        if (own && own.name !== name) throw chsError('CHS_ERR_CONFIG_INVALID', `instance ${entry} runs from ${own.dir}, which holds module "${own.name}", not "${name}"`);
        add(own ?? pickModule(found, name, range), instance);
      } catch (err) {
        errs.push(err as Error);
      }
    }
  };
  const errors: Error[] = [];
  plan(entries, errors);
  // Optional entries (instances cheshire.json configures beyond the role) that name no module are
  // reported apart: the node runs without them and says so.
  const skipped: Error[] = [];
  plan(opts.optional ?? [], skipped);
  // Add providers for unmet mandatory requirements until nothing changes (providers may need
  // providers). Optional ones (0..1, 0..n) bind to what the role runs, and never pull a module in:
  // a proxy that could use a seed-client must not start one on a node without a seed.
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of [...planned.values()]) {
      for (const req of p.desc.requires) {
        if (req.cardinality === '0..1' || req.cardinality === '0..n') continue;
        if (providersFor(req, planned.values()).length) continue;
        const candidate = providersFor(req, found.map((desc) => ({ id: desc.name, desc })))[0];
        if (candidate) {
          add(candidate.desc);
          changed = true;
        }
      }
    }
  }
  return { planned, errors, skipped };
}

/** id -> ids of the providers it binds to (policy filter optional). */
export function dependencyEdges(planned: Iterable<Planned>, policy?: 'static' | 'dynamic'): Map<string, string[]> {
  const all = [...planned];
  const edges = new Map<string, string[]>();
  for (const p of all) {
    const deps = p.desc.requires.filter((r) => !policy || r.policy === policy).flatMap((r) => bindingFor(r, all).map((x) => x.id));
    edges.set(p.id, [...new Set(deps)]);
  }
  return edges;
}

const validators = new Map<string, ReturnType<typeof ajv.compile>>();

/** defaults <- role config <- node override, validated against the module's schema. */
export function effectiveConfig(id: string, desc: Descriptor, ...layers: Array<Record<string, unknown> | undefined>): Record<string, unknown> {
  const config = Object.assign({}, desc.configDefaults, ...layers.filter(Boolean)) as Record<string, unknown>;
  // Keyed by the schema's text: one compiled validator per distinct schema, however many reloads.
  const key = JSON.stringify(desc.configSchema);
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(desc.configSchema)));
  if (!validate(config)) throw chsError('CHS_ERR_CONFIG_INVALID', `${id}: ${describeAjvErrors(validate.errors, config)}`);
  return config;
}
