// The reload transaction for one module folder: bundle and evaluate the new code, refuse a cycle,
// honour the typecheck and test-before-activate policies, then swap every instance of the folder
// (and what must follow it) under the host's lock; on any failure the old version keeps serving.
// Every version that became active (or was refused) is recorded in the version history, off the
// reload path. A rollback is the same transaction on files restored from that history.
import { sep } from 'node:path';
import type { Logger } from 'pino';
import { readDescriptor } from './descriptor.ts';
import { chsError } from './errors.ts';
import { findCycle } from './graph.ts';
import type { VersionStore } from './history/index.ts';
import type { HistoryEntry } from './history/types.ts';
import type { Code, Instance } from './instance.ts';
import type { Lifecycle } from './lifecycle.ts';
import { bundleModule, evaluateModule, type LoadedCode } from './loader.ts';
import { runModuleTests } from './module-tests.ts';
import { dependencyEdges } from './planner.ts';
import { jsonEqual } from './config/diff.ts';
import type { ReloadTypecheck } from './typecheck/on-reload.ts';
import type { Descriptor, ModuleExports, ReloadTrigger } from './types.ts';

/** Why a version became active: a saved file, a ctl/CLI reload, a rollback, ... */
export type ReloadSource = 'save' | 'ctl' | 'rollback' | 'install' | 'promote' | 'start';

export interface ReloadOptions {
  since?: number;
  /** Reload even when the bundle is unchanged. */
  force?: boolean;
  /** Only this instance of the folder. */
  only?: string;
  source?: ReloadSource;
}

/** What the reloader needs of the host. */
export interface ReloadHost {
  engine(): Lifecycle;
  lock<T>(fn: () => Promise<T>): Promise<T>;
  /** The current code of each module folder. */
  readonly codes: Map<string, Code>;
  /** The effective config of an instance for a descriptor (defaults <- role <- node). */
  configFor(id: string, desc: Descriptor): Record<string, unknown>;
  readonly typecheck: ReloadTypecheck;
  history(): VersionStore | null;
  readonly log: Logger;
  /** After new code is active: re-aim the watcher at the files it bundles. */
  activated(): Promise<void>;
  /** Runs `fn` with the watcher's calls for `dir` held until it is done (Watcher.hold). */
  quiet<T>(dir: string, fn: () => Promise<T>): Promise<T>;
  changed(): void;
  /** Evaluates new code (default evaluateModule); the host's skips the host realm for instances all isolated by override. */
  evaluate?(desc: Descriptor, loaded: LoadedCode): ModuleExports;
  /** Resolves once the new code is evaluated where it will run (isolated instances: in a warm spare); rejecting refuses the reload. */
  prepared?(desc: Descriptor, loaded: LoadedCode): Promise<void>;
}

export class Reloader {
  /** History writes in flight (close() waits for them). */
  private readonly pending = new Set<Promise<unknown>>();
  /** The bundle hash last recorded as active, per module folder. */
  private readonly recorded = new Map<string, string>();
  /** Per module folder: a history record is being written; `next` waits behind it. */
  private readonly lanes = new Map<string, { next: RecordJob | null }>();

  constructor(private readonly h: ReloadHost) {}

  async reloadDir(dir: string, o: ReloadOptions = {}): Promise<Map<string, Error>> {
    const since = o.since ?? performance.now();
    const source = o.source ?? 'save';
    const targetsOf = () => [...this.h.engine().instances.values()].filter((i) => i.desc.dir === dir && (!o.only || i.id === o.only));
    if (!targetsOf().length) return new Map();
    let code: Code;
    try {
      const desc = readDescriptor(dir);
      const loaded = await bundleModule(desc);
      if (!o.force && this.unchanged(dir, desc, loaded.hash)) {
        this.h.log.debug(`${desc.name}: content unchanged, not reloaded`);
        return new Map();
      }
      code = { desc, loaded, exports: (this.h.evaluate ?? evaluateModule)(desc, loaded) };
      await this.h.prepared?.(desc, loaded);
      // Only a version that changes what it provides or requires can make a cycle; the check walks
      // every instance's requirements (~20 ms with 1000 modules), so an ordinary edit skips it.
      const was = this.h.codes.get(dir)?.desc;
      if (!was || !jsonEqual([was.provides, was.requires], [desc.provides, desc.requires])) {
        const edges = dependencyEdges([...this.h.engine().instances.values()].map((i) => ({ id: i.id, desc: i.desc.dir === dir ? desc : i.desc })));
        const cycle = findCycle(edges);
        if (cycle) throw chsError('CHS_ERR_DEP_CYCLE', `dependency cycle: ${cycle.join(' -> ')}`);
      }
      await this.h.typecheck.before(desc);
      if (desc.test.beforeActivate) {
        const result = await runModuleTests(desc);
        if (!result.ok) throw chsError('CHS_ERR_MODULE_TEST', `${desc.name}: tests failed before activation:\n${result.output.slice(-2000)}`);
      }
    } catch (err) {
      return this.h.lock(async () => {
        const failures = new Map<string, Error>();
        for (const inst of targetsOf()) {
          inst.setError(err);
          inst.log.error({ err }, `reload refused, v${inst.desc.version} #${inst.code?.loaded.hash ?? '-'} keeps running: ${(err as Error).message}`);
          failures.set(inst.id, err as Error);
          this.h.engine().record(inst, triggerOf(source), 'hot', since, 'refused', err);
        }
        const first = targetsOf()[0];
        if (first) this.record(first.desc, undefined, source, 'refused', err);
        this.h.changed();
        return failures;
      });
    }
    return this.h.lock(async () => {
      // A save that raced an explicit reload (a rollback's files, seen by the watcher) may find
      // this very code already active by the time it holds the lock.
      if (!o.force && this.unchanged(dir, code.desc, code.loaded.hash)) return new Map();
      const targets = targetsOf();
      // Recorded below with this reload's source, not as a plain start when the instance turns active.
      const was = this.recorded.get(dir);
      this.recorded.set(dir, code.loaded.hash);
      const configs = new Map(targets.map((i) => [i.id, this.h.configFor(i.id, code.desc)]));
      const failures = await this.h.engine().replace(targets, (inst) => ({ code, config: configs.get(inst.id)! }), since, triggerOf(source));
      const live = targets.find((t) => !failures.has(t.id));
      if (!live && was !== undefined) this.recorded.set(dir, was);
      if (live) {
        const before = this.h.codes.get(dir);
        this.h.codes.set(dir, code);
        // The watcher follows the files a bundle takes from beside its folder: re-aimed only when those change.
        if (!before || !jsonEqual(outside(dir, before.loaded.files), outside(dir, code.loaded.files))) await this.h.activated();
        this.h.typecheck.after(code.desc, live.log);
      }
      this.record(code.desc, code.loaded, source, live ? 'active' : 'failed', live ? undefined : failures.values().next().value);
      this.h.changed();
      return failures;
    });
  }

  private unchanged(dir: string, desc: Descriptor, hash: string): boolean {
    const current = this.h.codes.get(dir);
    return !!current && current.loaded.hash === hash && jsonEqual(stripDir(current.desc), stripDir(desc));
  }

  /**
   * Records a version of a module folder in the history, off the caller's path (never awaited
   * by a reload). The snapshot reads the folder when the record's turn comes, so per folder one
   * record runs and at most one waits: a newer version replaces the waiting one (a reload storm
   * is recorded as the versions the history could read, never as a backlog that grows).
   */
  record(desc: Descriptor, loaded: Code['loaded'] | undefined, source: ReloadSource, outcome: 'active' | 'refused' | 'failed', err?: unknown): void {
    const history = this.h.history();
    if (!history) return;
    const job: RecordJob = {
      history,
      dir: desc.dir, name: desc.name, version: desc.version, watch: desc.watch,
      files: loaded?.files, bundleHash: loaded?.hash, source, outcome,
      error: err === undefined ? undefined : ((err as Error)?.message ?? String(err)),
    };
    const lane = this.lanes.get(desc.dir);
    if (lane) {
      lane.next = job; // replaces a waiting one, if any
      return;
    }
    this.run(job);
  }

  private run(job: RecordJob): void {
    const lane: { next: RecordJob | null } = { next: null };
    this.lanes.set(job.dir, lane);
    const p = writeRecord(job)
      .catch((e: unknown) => this.h.log.warn(`${job.name}: version history not recorded: ${(e as Error).message}`))
      .finally(() => {
        this.pending.delete(p);
        this.lanes.delete(job.dir);
        if (lane.next) this.run(lane.next);
      });
    this.pending.add(p);
  }

  /**
   * An instance turned active outside a reload (node start, enable, restart after a crash):
   * its code is recorded as source 'start' unless that very bundle is the last one recorded.
   */
  activeOutsideReload(code: Code): void {
    if (this.recorded.get(code.desc.dir) === code.loaded.hash) return;
    this.recorded.set(code.desc.dir, code.loaded.hash);
    this.record(code.desc, code.loaded, 'start', 'active');
  }

  /** Resolves once every history write started so far has finished. */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /**
   * Makes the code of history revision `rev` of `inst`'s module active again (default: the
   * active version before the current one), as a transactional reload: its files are restored
   * into the module folder and reloaded; if that reload fails, the files are put back as they
   * were and the current version keeps serving.
   */
  async rollback(inst: Instance, rev?: number): Promise<HistoryEntry> {
    const history = this.h.history();
    if (!history) throw chsError('CHS_ERR_HISTORY_NOT_FOUND', `${inst.id}: the node keeps no version history`);
    await this.settled();
    const dir = inst.desc.dir;
    const entry = rev === undefined ? await previousActive(history, inst.desc.name) : await history.get(inst.desc.name, rev);
    const before = await history.snapshot(dir, this.h.codes.get(dir)?.loaded.files, { watch: inst.desc.watch });
    return this.h.quiet(dir, () => this.restoreAndReload(inst, entry, before.contentId)).finally(() => history.release(before.contentId));
  }

  private async restoreAndReload(inst: Instance, entry: HistoryEntry, before: string): Promise<HistoryEntry> {
    const history = this.h.history()!;
    const dir = inst.desc.dir;
    await history.restoreInto(inst.desc.name, entry.rev, dir, { watch: inst.desc.watch });
    const failures = await this.reloadDir(dir, { force: true, source: 'rollback' });
    const err = failures.get(inst.id) ?? failures.values().next().value;
    if (err) {
      await history.restoreContent(before, dir, { watch: inst.desc.watch });
      throw chsError('CHS_ERR_ROLLBACK', `${inst.id}: rollback to rev ${entry.rev} failed; the current version keeps serving and its files are back: ${err.message}`, err);
    }
    inst.log.info(`${inst.id} rolled back to rev ${entry.rev} (v${entry.version ?? '?'}, ${entry.contentId.slice(0, 12)})`);
    return entry;
  }
}

/**
 * `promote`: makes the files of `from` (a copy run beside the live module, `enable M#beta --from
 * DIR`) the files of `to`'s folder and reloads it (source 'promote'), the watcher held; if that
 * version fails, `to`'s files are put back and it keeps serving (CHS_ERR_PROMOTE).
 */
export async function promoteInto(r: Reloader, history: VersionStore, from: Instance, to: Instance, quiet: ReloadHost['quiet'], files: (dir: string) => readonly string[] | undefined): Promise<HistoryEntry> {
  const copy = await history.snapshot(from.desc.dir, files(from.desc.dir), { watch: from.desc.watch });
  const before = await history.snapshot(to.desc.dir, files(to.desc.dir), { watch: to.desc.watch });
  try {
    await quiet(to.desc.dir, async () => {
      await history.restoreContent(copy.contentId, to.desc.dir, { watch: to.desc.watch });
      const failures = await r.reloadDir(to.desc.dir, { force: true, source: 'promote' });
      const err = failures.get(to.id) ?? failures.values().next().value;
      if (err) {
        await history.restoreContent(before.contentId, to.desc.dir, { watch: to.desc.watch });
        throw chsError('CHS_ERR_PROMOTE', `promoting ${from.id} into ${to.id} failed; ${to.id} keeps serving its own code and its files are back: ${err.message}`, err);
      }
    });
  } finally {
    history.release(copy.contentId);
    history.release(before.contentId);
  }
  await r.settled();
  return (await history.list(to.desc.name)).at(-1)!;
}

/** The files of a bundle from beyond its module's folder (a sibling's sources), sorted. */
function outside(dir: string, files: readonly string[]): string[] {
  return files.filter((f) => !f.startsWith(dir + sep)).sort();
}

/** The timeline's name for why a reload ran (a `start` record is a reload asked for by the host). */
function triggerOf(source: ReloadSource): ReloadTrigger {
  return source === 'start' ? 'ctl' : source;
}

/** What one history record needs (not the LoadedCode: its code and source map are big). */
interface RecordJob {
  history: VersionStore;
  dir: string;
  name: string;
  version: string;
  watch: string[];
  files: readonly string[] | undefined;
  bundleHash: string | undefined;
  source: ReloadSource;
  outcome: 'active' | 'refused' | 'failed';
  error: string | undefined;
}

async function writeRecord(j: RecordJob): Promise<void> {
  const snap = await j.history.snapshot(j.dir, j.files, { watch: j.watch });
  const { entry } = await j.history.record(j.name, {
    contentId: snap.contentId,
    source: j.source,
    outcome: j.outcome,
    version: j.version,
    ...(j.bundleHash ? { bundleHash: j.bundleHash } : {}),
    ...(j.error !== undefined ? { error: j.error } : {}),
  });
  // Retention (newest 20 active + 20 other per module by default): applied every 10th version.
  if (entry.rev % 10 === 0) await j.history.prune(j.name);
}

/** The last active entry whose content differs from the latest active one. */
async function previousActive(history: VersionStore, name: string): Promise<HistoryEntry> {
  const entries = (await history.list(name)).filter((e) => e.outcome === 'active');
  const current = entries.at(-1);
  const prev = [...entries].reverse().find((e) => e.contentId !== current?.contentId);
  if (!prev) throw chsError('CHS_ERR_HISTORY_NOT_FOUND', `${name}: no earlier active version to roll back to (history has ${entries.length} active entr${entries.length === 1 ? 'y' : 'ies'})`);
  return prev;
}

function stripDir(d: Descriptor): Omit<Descriptor, 'dir'> {
  const { dir: _dir, ...rest } = d;
  return rest;
}
