// Runtime config changes, as one transaction each: validate against the module's schema, restart
// only the affected instance, write cheshire.json atomically, record a numbered revision. Also
// the hand edit of cheshire.json or the role file: what changed is applied, what is invalid is
// refused with the running config kept. Every entry point runs under the host's lock.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { chsError, errorText } from '../errors.ts';
import type { Code, Instance } from '../instance.ts';
import { effectiveConfig } from '../planner.ts';
import type { ErrorInfo } from '../types.ts';
import { parseJsonText, readJsonFile, writeFileAtomic } from './atomic.ts';
import { jsonEqual } from './diff.ts';
import { loadRole, parseNodeConfig, type NodeConfig, type RolePreset } from './node-config.ts';
import type { Revision, RevisionSource, RevisionStore } from './revisions.ts';

/** What the applier needs of the host. */
export interface ConfigHost {
  readonly configFile: string;
  readonly base: string;
  /** The --role override, if any. */
  readonly roleOverride: string | undefined;
  config: NodeConfig | null;
  role: RolePreset | null;
  configError: ErrorInfo | null;
  readonly revisions: RevisionStore | null;
  readonly log: Logger;
  instance(id: string): Instance;
  instanceIds(): string[];
  /** The code an instance runs (or its folder's current code, if it is not running). */
  codeOf(inst: Instance): Code;
  replace(inst: Instance, code: Code, config: Record<string, unknown>): Promise<Error | undefined>;
  lock<T>(fn: () => Promise<T>): Promise<T>;
  /** Stops every instance and boots the node from its config files again. */
  reboot(): Promise<void>;
  /** Applies a hand-edited file's instance set (new `modules` keys, `disabled`); returns errors. */
  syncInstances(next: NodeConfig): Promise<unknown[]>;
  changed(): void;
}

export class ConfigApplier {
  /** The last cheshire.json content written here (its watcher event is not a hand edit). */
  private lastWritten: string | null = null;

  constructor(private readonly h: ConfigHost) {}

  /** What `set` would refuse `override` for, without applying anything: [] when it is valid. */
  check(id: string, override: Record<string, unknown>): string[] {
    const inst = this.h.instance(id);
    try {
      effectiveConfig(id, inst.desc, this.h.role?.config[id], override);
      return [];
    } catch (err) {
      return [(err as Error).message];
    }
  }

  /** Applies `override` (the instance's section of cheshire.json) as a new validated revision. */
  set(id: string, override: Record<string, unknown>, source: RevisionSource = 'api'): Promise<Revision> {
    return this.h.lock(() => this.apply(id, override, source));
  }

  /** Applies an older revision as a new one; the override written keeps only what differs from the defaults. */
  async revert(id: string, rev: number): Promise<Revision> {
    const old = await this.h.revisions!.get(id, rev);
    const inst = this.h.instance(id);
    const base: Record<string, unknown> = { ...inst.desc.configDefaults, ...this.h.role?.config[id] };
    const override = Object.fromEntries(Object.entries(old.config).filter(([k, v]) => !jsonEqual(v, base[k])));
    return this.set(id, override, 'revert');
  }

  /** Pins (or unpins) a revision of an instance: retention never drops a pinned one. */
  async pin(id: string, rev: number, pinned: boolean): Promise<number[]> {
    this.h.instance(id);
    const pins = await this.h.revisions!.pin(id, rev, pinned);
    this.h.changed();
    return pins;
  }

  /** Drops revisions of `id` (every instance with revisions, when omitted) that cheshire.json's `revisions` retention no longer keeps. Never throws: a failure is logged. */
  async prune(id?: string): Promise<number> {
    const store = this.h.revisions;
    const retention = this.h.config?.revisions;
    if (!store || !retention) return 0;
    let removed = 0;
    for (const one of id === undefined ? await store.instanceIds().catch(() => []) : [id]) {
      try {
        removed += (await store.prune(one, retention)).removed.length;
      } catch (err) {
        this.h.log.warn(`cannot prune the config revisions of ${one}: ${(err as Error).message}`);
      }
    }
    return removed;
  }

  current(id: string): { effective: Record<string, unknown>; override: Record<string, unknown> } {
    return { effective: { ...this.h.instance(id).config }, override: { ...(this.h.config?.modules[id] ?? {}) } };
  }

  async list(id: string): Promise<Revision[]> {
    this.h.instance(id);
    return this.h.revisions!.list(id);
  }

  /** set() for a caller that already holds the host's lock. */
  applyUnlocked(id: string, override: Record<string, unknown>, source: RevisionSource): Promise<Revision> {
    return this.apply(id, override, source);
  }

  /**
   * One change, all or nothing: the running config, cheshire.json and the revisions never
   * disagree. The file is read (and must parse) before anything runs; the instance is restarted
   * with the new config; the file is written; the revision recorded. If the write or the record
   * fails, the file's old bytes and the instance's old config are put back and the error says so.
   */
  private async apply(id: string, override: Record<string, unknown>, source: RevisionSource): Promise<Revision> {
    const inst = this.h.instance(id);
    const config = effectiveConfig(id, inst.desc, this.h.role?.config[id], override);
    const edit = source !== 'file' && this.h.config
      ? await this.prepareNodeConfig((raw) => ({ ...raw, modules: { ...(raw.modules as object), [id]: override } }), `cannot change ${id}'s config`)
      : null;
    const before = { config: inst.config, override: this.h.config?.modules[id] };
    let replaced = false;
    if (!jsonEqual(config, inst.config)) {
      const err = await this.h.replace(inst, this.h.codeOf(inst), config);
      if (err) throw err;
      if (inst.state !== 'active') inst.config = config;
      replaced = true;
    }
    let written = false;
    try {
      if (edit) {
        await edit.write();
        written = true;
        this.h.config!.modules[id] = override;
      }
      const rev = await this.h.revisions!.record(id, config, source);
      inst.log.info(`config revision ${rev.rev} applied (${source})`);
      await this.prune(id);
      this.h.changed();
      return rev;
    } catch (err) {
      const undone: string[] = [];
      if (written) {
        await edit!.undo().then(() => undone.push(`${this.h.configFile} restored`), (e: unknown) => undone.push(`${this.h.configFile} NOT restored: ${(e as Error).message}`));
        if (this.h.config) this.h.config.modules[id] = before.override ?? {};
      }
      if (replaced) {
        const back = await this.h.replace(inst, this.h.codeOf(inst), before.config);
        if (inst.state !== 'active') inst.config = before.config;
        undone.push(back ? `running config NOT restored: ${back.message}` : 'running config restored');
      }
      this.h.changed();
      throw chsError('CHS_ERR_CONFIG_WRITE', `${id}: the change was not applied (${undone.join(', ') || 'nothing had changed'}): ${(err as Error).message}`, err);
    }
  }

  /**
   * Reads cheshire.json now (a file that does not parse refuses the change before anything is
   * applied) and returns how to write `edit`'s result atomically and how to put the old bytes back.
   */
  private async prepareNodeConfig(edit: (raw: Record<string, unknown>) => Record<string, unknown>, what: string): Promise<{ write(): Promise<void>; undo(): Promise<void> }> {
    let old: string;
    let raw: Record<string, unknown>;
    try {
      old = await readFile(this.h.configFile, 'utf8');
      raw = parseJsonText(old, this.h.configFile) as Record<string, unknown>;
    } catch (err) {
      throw chsError((err as { code?: string }).code === 'CHS_ERR_CONFIG_PARSE' ? 'CHS_ERR_CONFIG_PARSE' : 'CHS_ERR_CONFIG_WRITE', `${what}: ${(err as Error).message} (fix the file first; nothing was applied)`, err);
    }
    const text = JSON.stringify(edit(raw), null, 2) + '\n';
    return {
      write: async () => {
        this.lastWritten = text;
        await writeFileAtomic(this.h.configFile, text);
      },
      undo: async () => {
        this.lastWritten = old;
        await writeFileAtomic(this.h.configFile, old);
      },
    };
  }

  /** Rewrites cheshire.json through `edit`, atomically; the watcher event it causes is not taken for a hand edit. */
  async writeNodeConfig(edit: (raw: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    const raw = (await readJsonFile(this.h.configFile)) as Record<string, unknown>;
    const text = JSON.stringify(edit(raw), null, 2) + '\n';
    this.lastWritten = text;
    await writeFileAtomic(this.h.configFile, text);
  }

  /**
   * A hand edit of cheshire.json or the role file: apply what changed, refuse what is invalid.
   * Under the lock, so it never races the host's own writes; content written here is skipped.
   */
  onFileChange(): Promise<void> {
    return this.h.lock(async () => {
      let text: string;
      let next: NodeConfig;
      let role: RolePreset;
      try {
        text = await readFile(this.h.configFile, 'utf8');
        if (text === this.lastWritten) {
          // The node's own write — or a hand edit put back to exactly it: a refusal is then over.
          if (this.h.configError) {
            this.h.configError = null;
            this.h.changed();
          }
          return;
        }
        next = parseNodeConfig(parseJsonText(text, this.h.configFile), this.h.configFile);
        role = await loadRole(this.h.roleOverride ?? next.role, this.h.base);
      } catch (err) {
        this.refuse(err);
        return;
      }
      const prev = this.h.config!;
      const structural = !jsonEqual(
        { role, moduleDirs: next.moduleDirs, stateDir: next.stateDir, supervisor: next.supervisor, dependencies: next.dependencies },
        { role: this.h.role, moduleDirs: prev.moduleDirs, stateDir: prev.stateDir, supervisor: prev.supervisor, dependencies: prev.dependencies },
      );
      if (structural) {
        this.h.log.info('role or host settings changed: restarting all instances');
        await this.h.reboot();
        return;
      }
      const errors: unknown[] = [];
      for (const id of this.h.instanceIds()) {
        if (jsonEqual(next.modules[id] ?? {}, prev.modules[id] ?? {})) continue;
        try {
          await this.apply(id, next.modules[id] ?? {}, 'file');
          prev.modules[id] = next.modules[id] ?? {};
        } catch (err) {
          errors.push(err);
        }
      }
      errors.push(...(await this.h.syncInstances(next)));
      if (errors.length) this.refuse(errors[0]);
      else this.h.configError = null;
      this.h.changed();
    });
  }

  private refuse(err: unknown): void {
    this.h.configError = { code: (err as { code?: string }).code ?? 'CHS_ERR_CONFIG_INVALID', message: (err as Error).message, stack: errorText(err), at: new Date().toISOString() };
    this.h.log.error(`config change refused, running config kept: ${(err as Error).message}`);
    this.h.changed();
  }
}
