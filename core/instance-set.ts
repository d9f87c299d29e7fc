// Which instances the node runs, changed at runtime: `enable` adds an instance (and the providers
// it needs) to the running node and starts only those, optionally from a folder of its own
// (`--from`: a copy tried beside the live one); `disable` stops one and keeps it stopped;
// `promote` makes such a copy's code the one the module's main instance runs, then drops the copy.
// Both are written to cheshire.json (an instance under `modules` runs even when the role does not
// list it; `disabled` lists the ones kept stopped) and recorded as config revisions, so a restart
// or a hand edit of the file gives the same set. Runs under the host's lock (callers take it).
import type { Logger } from 'pino';
import { resolve } from 'node:path';
import { readDescriptor } from './descriptor.ts';
import { chsError } from './errors.ts';
import { discoverModules } from './discover.ts';
import { findCycle } from './graph.ts';
import type { Instance } from './instance.ts';
import type { Lifecycle } from './lifecycle.ts';
import { dependencyEdges, effectiveConfig, planInstances, type Planned } from './planner.ts';
import type { ConfigApplier } from './config/apply.ts';
import { entryId, moduleSearchDirs, type NodeConfig, type RolePreset } from './config/node-config.ts';
import type { RevisionStore } from './config/revisions.ts';
import type { Descriptor } from './types.ts';

export interface InstanceSetHost {
  engine(): Lifecycle;
  readonly config: NodeConfig | null;
  readonly role: RolePreset | null;
  readonly base: string;
  readonly log: Logger;
  readonly revisions: RevisionStore | null;
  readonly configs: ConfigApplier;
  newInstance(p: Planned, config: Record<string, unknown>): Instance;
  updateWatch(): Promise<void>;
  changed(): void;
}

export class InstanceSet {
  constructor(private readonly h: InstanceSetHost) {}

  /**
   * Adds `entry` (`name`, `name#instance`, `name@range#instance`) to the running node with
   * `override` as its config section (default: what cheshire.json already holds for it), or
   * starts it again if it was disabled. Returns the ids that were added.
   */
  async enable(entry: string, override?: Record<string, unknown>, persist = true, from?: string): Promise<string[]> {
    const { config, role } = this.ready();
    const id = entryId(entry);
    const engine = this.h.engine();
    const existing = engine.instances.get(id);
    if (existing && from !== undefined && existing.desc.dir !== resolve(this.h.base, from)) {
      throw chsError('CHS_ERR_CONFIG_INVALID', `${id} already runs from ${existing.desc.dir}; disable it and pick another instance name to try ${from}`);
    }
    if (existing) {
      if (override) await this.h.configs.applyUnlocked(id, override, 'api');
      await this.setDisabled(id, false, persist);
      existing.wanted = true;
      existing.disabled = false;
      if (existing.state === 'stopped' || existing.state === 'failed') {
        existing.crashes.reset();
        existing.state = 'waiting';
      }
      await engine.reconcile();
      existing.log.info(`${id} enabled`);
      return [];
    }
    const found = discoverModules(moduleSearchDirs(config, this.h.base), this.h.base);
    const current = [...engine.instances.values()].map((i) => ({ id: i.id, desc: i.desc }));
    const sourceDir = from !== undefined ? resolve(this.h.base, from) : config.sources[id] !== undefined ? resolve(this.h.base, config.sources[id]) : undefined;
    const sources = new Map(sourceDir ? [[id, readDescriptor(sourceDir)]] : []);
    const { planned, errors } = planInstances([entry], found.modules, { initial: current, sources });
    if (errors.length) throw errors[0];
    const fresh = [...planned.values()].filter((p) => !engine.instances.has(p.id));
    const cycle = findCycle(dependencyEdges(planned.values()));
    if (cycle) throw chsError('CHS_ERR_DEP_CYCLE', `enabling ${entry} would make a dependency cycle: ${cycle.join(' -> ')}`);
    // Every config is validated before anything changes: a bad one refuses the whole enable.
    const section = override ?? config.modules[id] ?? {};
    const configs = fresh.map((p) => effectiveConfig(p.id, p.desc, role.config[p.id], p.id === id ? section : config.modules[p.id]));
    const listed = role.modules.map(entryId).includes(id);
    if (persist) await this.h.configs.writeNodeConfig((raw) => ({
      ...raw,
      modules: listed && !override ? raw.modules : { ...(raw.modules as object), [id]: section },
      ...(from !== undefined ? { sources: { ...(raw.sources as object | undefined), [id]: sourceDir } } : {}),
      ...disabledList(raw, (l) => l.filter((d) => d !== id)),
    }));
    if (!listed || override) config.modules[id] = section;
    config.disabled = config.disabled.filter((d) => d !== id);
    if (sourceDir) config.sources[id] = sourceDir;
    fresh.forEach((p, n) => engine.add(this.h.newInstance(p, configs[n]!)));
    for (const [n, p] of fresh.entries()) await this.h.revisions?.record(p.id, configs[n]!, 'api');
    await this.h.updateWatch();
    await engine.reconcile();
    this.h.log.info(`enabled ${fresh.map((p) => p.id).join(', ')}`);
    this.h.changed();
    return fresh.map((p) => p.id);
  }

  /** Removes an instance from the node and from cheshire.json (modules, sources, disabled). */
  async drop(id: string): Promise<void> {
    const engine = this.h.engine();
    const inst = engine.instances.get(id);
    if (inst) await engine.remove(inst);
    await this.h.configs.writeNodeConfig((raw) => {
      const { [id]: _m, ...modules } = (raw.modules as Record<string, unknown> | undefined) ?? {};
      const { [id]: _s, ...sources } = (raw.sources as Record<string, unknown> | undefined) ?? {};
      return { ...raw, modules, ...('sources' in raw ? { sources } : {}), ...disabledList(raw, (l) => l.filter((d) => d !== id)) };
    });
    const config = this.h.config;
    if (config) {
      delete config.modules[id];
      delete config.sources[id];
      config.disabled = config.disabled.filter((d) => d !== id);
    }
    this.h.log.info(`${id} removed from the node`);
    this.h.changed();
  }

  /** Stops `id` and keeps it stopped across restarts (its config is kept); dependents wait. */
  async disable(id: string, persist = true): Promise<void> {
    this.ready();
    const engine = this.h.engine();
    const inst = engine.instances.get(id);
    if (!inst) throw chsError('CHS_ERR_INSTANCE_NOT_FOUND', `no instance "${id}" on this node (have: ${[...engine.instances.keys()].join(', ') || 'none'})`);
    await this.setDisabled(id, true, persist);
    inst.wanted = false;
    inst.disabled = true;
    if (inst.backoffTimer) clearTimeout(inst.backoffTimer);
    await engine.stopRun(inst, false, 'stopped');
    inst.log.info(`${id} disabled`);
    await engine.reconcile();
    this.h.changed();
  }

  /**
   * A hand edit of cheshire.json: instances it now configures beyond the role are enabled, and
   * the `disabled` list is applied both ways. Errors are collected, not thrown.
   */
  async sync(next: NodeConfig): Promise<unknown[]> {
    const errors: unknown[] = [];
    const { role } = this.ready();
    const engine = this.h.engine();
    const listed = new Set(role.modules.map(entryId));
    const want = Object.keys(next.modules).filter((id) => !listed.has(id) && !engine.instances.has(id));
    const run = async (fn: () => Promise<unknown>) => { try { await fn(); } catch (err) { errors.push(err); } };
    // The file already says it all: nothing is written back (persist = false).
    for (const id of want) {
      this.h.config!.modules[id] = next.modules[id]!;
      await run(() => this.enable(id, undefined, false));
    }
    for (const id of next.disabled) if (engine.instances.get(id) && !engine.instances.get(id)!.disabled) await run(() => this.disable(id, false));
    for (const inst of engine.instances.values()) if (inst.disabled && !next.disabled.includes(inst.id)) await run(() => this.enable(inst.id, undefined, false));
    return errors;
  }

  private async setDisabled(id: string, on: boolean, persist: boolean): Promise<void> {
    const config = this.h.config!;
    if (config.disabled.includes(id) === on) return;
    if (persist) await this.h.configs.writeNodeConfig((raw) => ({
      ...raw,
      ...disabledList(raw, (l) => (on ? [...l.filter((d) => d !== id), id] : l.filter((d) => d !== id))),
    }));
    config.disabled = on ? [...config.disabled, id] : config.disabled.filter((d) => d !== id);
  }

  private ready(): { config: NodeConfig; role: RolePreset } {
    const { config, role } = this.h;
    if (!config || !role) throw chsError('CHS_ERR_HOST_STOPPED', 'the node is in failsafe mode or shutting down: fix the start-up error first');
    return { config, role };
  }
}

/** cheshire.json's `disabled` after `edit`, left out of the file while it is empty and absent. */
function disabledList(raw: Record<string, unknown>, edit: (list: string[]) => string[]): { disabled?: string[] } {
  const list = edit((raw.disabled as string[] | undefined) ?? []);
  return list.length || 'disabled' in raw ? { disabled: list } : {};
}

/** The instances cheshire.json runs from folders of their own (`sources`), read; unreadable ones reported. */
export function readSources(config: NodeConfig, base: string): { sources: Map<string, Descriptor>; errors: Error[] } {
  const sources = new Map<string, Descriptor>();
  const errors: Error[] = [];
  for (const [id, dir] of Object.entries(config.sources)) {
    try {
      sources.set(id, readDescriptor(resolve(base, dir)));
    } catch (err) {
      errors.push(err as Error);
    }
  }
  return { sources, errors };
}
