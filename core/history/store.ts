// VersionStore: every version of a module that became active (or was refused / failed) is
// recorded with its files, so it can be listed, read and made active again (rollback).
//
// Layout under the root (the host passes `<stateDir>/history`):
//   objects/ab/cdef…        content-addressed blobs (file bytes and manifests), see objects.ts
//   records/<name>.jsonl    one HistoryEntry per line, append-only, see records.ts
//
// Contract:
// - Writes (snapshot, record, prune, materialize, restoreInto) are serialized per root within
//   the process (also across VersionStore objects on the same root); reads (list, get, ...)
//   are not and may run alongside. One process is expected to own the root.
// - A snapshot pins its content id until record() consumes it or release() drops it, so a
//   prune() between snapshot and record never collects its objects.
// - record() dedup: only source 'start' folds. A 'start' record whose content id equals the
//   module's latest ACTIVE entry with outcome 'active' — or equals the latest entry with the
//   same outcome (a node crash-looping on one failing version) — returns that entry with
//   created: false; a node restart is not a new version. Every other source always appends a
//   rev (a rollback to the running code, a forced reload, is still an event worth a line).
// - Retention (prune): per module, the newest `keepActive` active entries, the newest
//   `keepOther` refused/failed entries and always the latest entry are kept; then objects no
//   kept entry's manifest (nor a pinned snapshot) references are deleted. The latest active
//   entry is always among the kept ones, so pruning never deletes what the running version
//   needs. Revision numbers are never reused.

import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chsError } from '../errors.ts';
import { Mutex } from '../mutex.ts';
import { isHash, ObjectStore } from './objects.ts';
import { appendRecord, nameOfRecordsFile, readRecords, recordsFile, rewriteRecords } from './records.ts';
import { loadVersion, materializeVersion, restoreVersion, type RestoreResult } from './restore.ts';
import { decodeManifest, readPackageFacts, takeSnapshot, type ScanOptions } from './snapshot.ts';
import {
  DEFAULT_LIMITS, DEFAULT_RETENTION,
  type HistoryEntry, type HistoryLimits, type Manifest, type PruneResult, type RecordInput, type RecordResult,
  type Retention, type Snapshot, type VersionStoreOptions,
} from './types.ts';

/** What VersionStore objects on the same root share within the process. */
interface Shared {
  lock: Mutex;
  /** content id -> number of snapshots not yet recorded or released. */
  pins: Map<string, number>;
}

const sharedByRoot = new Map<string, Shared>();

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

const OUTCOMES: ReadonlySet<string> = new Set(['active', 'refused', 'failed']);

export class VersionStore {
  readonly root: string;
  readonly limits: HistoryLimits;
  readonly retention: Retention;
  private readonly objects: ObjectStore;
  private readonly shared: Shared;

  constructor(root: string, opts: VersionStoreOptions = {}) {
    this.root = resolve(root);
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.retention = { ...DEFAULT_RETENTION, ...opts.retention };
    for (const [k, v] of Object.entries({ ...this.limits, ...this.retention })) {
      if (!Number.isSafeInteger(v) || v < 0) throw new TypeError(`history option ${k} must be a non-negative integer, got ${v}`);
    }
    if (this.retention.keepActive < 1) throw new TypeError('history option keepActive must be at least 1 (the running version)');
    this.objects = new ObjectStore(this.root);
    let shared = sharedByRoot.get(this.root);
    if (!shared) sharedByRoot.set(this.root, (shared = { lock: new Mutex(), pins: new Map() }));
    this.shared = shared;
  }

  private write<T>(fn: () => Promise<T>): Promise<T> {
    return this.shared.lock.run(fn);
  }

  private pin(contentId: string): void {
    this.shared.pins.set(contentId, (this.shared.pins.get(contentId) ?? 0) + 1);
  }

  /** Drop one pin of a snapshot that will not be recorded (see the contract above). */
  release(contentId: string): void {
    const n = this.shared.pins.get(contentId) ?? 0;
    if (n <= 1) this.shared.pins.delete(contentId);
    else this.shared.pins.set(contentId, n - 1);
  }

  /**
   * Store the files module folder `dir` owns now (package.json, the bundle's `files` inside
   * the folder, what the `watch` globs match; see snapshot.ts) and their manifest. Refuses
   * with CHS_ERR_HISTORY_LIMIT, storing nothing, past a size or count cap. The result is
   * pinned until recorded or released.
   */
  snapshot(dir: string, files?: readonly string[], opts: Omit<ScanOptions, 'files'> = {}): Promise<Snapshot> {
    return this.write(async () => {
      const snap = await takeSnapshot(this.objects, resolve(dir), { ...opts, files }, this.limits);
      this.pin(snap.contentId);
      return snap;
    });
  }

  /** Append an entry for `name` (see the dedup rule above). The content id must be stored. */
  async record(name: string, input: RecordInput): Promise<RecordResult> {
    const file = recordsFile(this.root, name);
    if (!isHash(input.contentId)) throw new TypeError(`contentId must be a sha256 hex digest, got ${JSON.stringify(input.contentId)}`);
    if (!OUTCOMES.has(input.outcome)) throw new TypeError(`unknown outcome: ${String(input.outcome)}`);
    if (typeof input.source !== 'string' || input.source === '') throw new TypeError('source must be a non-empty string');
    return this.write(async () => {
      try {
        const manifest = await this.manifestUnlocked(input.contentId, name);
        const entries = await readRecords(file);
        const last = entries[entries.length - 1];
        if (input.source === 'start') {
          const active = findLastActive(entries);
          if (input.outcome === 'active' && active?.contentId === input.contentId) return { entry: active, created: false };
          if (last && last.contentId === input.contentId && last.outcome === input.outcome) return { entry: last, created: false };
        }
        let version = input.version;
        if (version === undefined) {
          const pkg = manifest.files['package.json'];
          version = pkg?.kind === 'file' ? readPackageFacts(await this.objects.get(pkg.hash, `${name} package.json`)).version : '';
        }
        const entry: HistoryEntry = {
          rev: (last?.rev ?? 0) + 1,
          contentId: input.contentId,
          version,
          at: new Date().toISOString(),
          source: input.source,
          outcome: input.outcome,
          ...(input.error !== undefined ? { error: clip(input.error) } : {}),
          ...(input.bundleHash !== undefined ? { bundleHash: input.bundleHash } : {}),
        };
        await appendRecord(file, entry);
        return { entry, created: true };
      } finally {
        this.release(input.contentId);
      }
    });
  }

  /** All entries of `name`, oldest first; [] when it has none. */
  list(name: string): Promise<HistoryEntry[]> {
    return readRecords(recordsFile(this.root, name));
  }

  /** The entry `rev` of `name`; CHS_ERR_HISTORY_NOT_FOUND if it was never recorded or was pruned. */
  async get(name: string, rev: number): Promise<HistoryEntry> {
    const entries = await this.list(name);
    const found = Number.isSafeInteger(rev) ? entries.find((e) => e.rev === rev) : undefined;
    if (found) return found;
    const have = entries.length === 0 ? 'it has no recorded versions' : `it has revs ${entries.map((e) => e.rev).join(', ')}`;
    throw chsError('CHS_ERR_HISTORY_NOT_FOUND', `module "${name}" has no history rev ${rev} (${have})`);
  }

  /** The newest entry of `name`, whatever its outcome. */
  async latest(name: string): Promise<HistoryEntry | undefined> {
    const entries = await this.list(name);
    return entries[entries.length - 1];
  }

  /** The newest entry of `name` whose outcome is 'active': the version that should be running. */
  async latestActive(name: string): Promise<HistoryEntry | undefined> {
    return findLastActive(await this.list(name));
  }

  /** Names with a records file, sorted. */
  async modules(): Promise<string[]> {
    let files: string[];
    try {
      files = await readdir(join(this.root, 'records'));
    } catch (err) {
      if (errCode(err) === 'ENOENT') return [];
      throw err;
    }
    return files.map(nameOfRecordsFile).filter((n): n is string => n !== undefined).sort();
  }

  /** A stored version's manifest (verified). */
  manifest(contentId: string): Promise<Manifest> {
    return this.manifestUnlocked(contentId, 'history');
  }

  private async manifestUnlocked(contentId: string, what: string): Promise<Manifest> {
    if (!isHash(contentId)) throw new TypeError(`contentId must be a sha256 hex digest, got ${JSON.stringify(contentId)}`);
    if (!(await this.objects.has(contentId))) {
      throw chsError('CHS_ERR_HISTORY_NOT_FOUND', `${what}: no stored version ${contentId} in ${this.root} (snapshot() it first)`);
    }
    return decodeManifest(await this.objects.get(contentId, `${what} manifest`), `${what} manifest ${contentId}`);
  }

  /** One file of rev `rev` of `name` (verified); CHS_ERR_HISTORY_NOT_FOUND if it has no such file. */
  async readFile(name: string, rev: number, path: string): Promise<Buffer> {
    const entry = await this.get(name, rev);
    const m = await this.manifestUnlocked(entry.contentId, `${name} rev ${rev}`);
    const e = m.files[path];
    if (e?.kind !== 'file') throw chsError('CHS_ERR_HISTORY_NOT_FOUND', `module "${name}" rev ${rev} has no file ${JSON.stringify(path)}`);
    return this.objects.get(e.hash, `${name} rev ${rev} ${path}`);
  }

  /** Write rev `rev` of `name` as the fresh folder `targetDir` (built beside it, renamed in). */
  materialize(name: string, rev: number, targetDir: string): Promise<HistoryEntry> {
    return this.write(async () => {
      const entry = await this.get(name, rev);
      const what = `${name} rev ${rev}`;
      await materializeVersion(await loadVersion(this.objects, entry.contentId, what), resolve(targetDir), what);
      return entry;
    });
  }

  /**
   * Make `moduleDir`'s owned files byte-identical to rev `rev` of `name` (see restore.ts).
   * `opts.files` (the running bundle's LoadedCode.files) widens what counts as owned. Every
   * object is verified before the folder is touched.
   */
  restoreInto(name: string, rev: number, moduleDir: string, opts: ScanOptions = {}): Promise<RestoreResult & { entry: HistoryEntry }> {
    return this.write(async () => {
      const entry = await this.get(name, rev);
      const what = `${name} rev ${rev}`;
      const v = await loadVersion(this.objects, entry.contentId, what);
      return { ...(await restoreVersion(v, resolve(moduleDir), opts, what)), entry };
    });
  }

  /**
   * Make a module folder's owned files the stored version `contentId` (a snapshot() taken
   * earlier and still pinned, or any recorded one): how a failed rollback puts back the files
   * it replaced.
   */
  restoreContent(contentId: string, moduleDir: string, opts: ScanOptions = {}): Promise<RestoreResult> {
    return this.write(async () => {
      const what = `content ${contentId.slice(0, 12)}`;
      const v = await loadVersion(this.objects, contentId, what);
      return restoreVersion(v, resolve(moduleDir), opts, what);
    });
  }

  /**
   * Apply the retention to `name` (default: every module), then delete objects nothing kept
   * references. If a kept manifest cannot be read, no object is deleted (gcSkipped says why).
   */
  prune(name?: string): Promise<PruneResult & { gcSkipped?: string }> {
    return this.write(async () => {
      let removedEntries = 0;
      for (const n of name === undefined ? await this.modules() : [name]) {
        const file = recordsFile(this.root, n);
        const entries = await readRecords(file);
        const kept = applyRetention(entries, this.retention);
        if (kept.length < entries.length) {
          await rewriteRecords(file, kept);
          removedEntries += entries.length - kept.length;
        }
      }
      // Mark: every manifest a record of any module or a pinned snapshot names, and its files.
      const keep = new Set<string>();
      const roots = new Set<string>(this.shared.pins.keys());
      for (const n of await this.modules()) for (const e of await readRecords(recordsFile(this.root, n))) roots.add(e.contentId);
      try {
        for (const id of roots) {
          keep.add(id);
          const m = decodeManifest(await this.objects.get(id, 'prune'), `prune manifest ${id}`);
          for (const e of Object.values(m.files)) if (e.kind === 'file') keep.add(e.hash);
        }
      } catch (err) {
        return { removedEntries, removedObjects: 0, removedBytes: 0, keptObjects: (await this.objects.all()).length, gcSkipped: (err as Error).message };
      }
      await mkdir(this.objects.dir, { recursive: true });
      const swept = await this.objects.sweep(keep);
      return { removedEntries, removedObjects: swept.removed, removedBytes: swept.removedBytes, keptObjects: swept.kept };
    });
  }

  /** Hashes of every stored object (diagnostics, tests). */
  objectHashes(): Promise<string[]> {
    return this.objects.all();
  }
}

/** Records are read whole: an error (stack) is kept to its first MAX_ERROR characters. */
const MAX_ERROR = 4000;

function clip(s: string): string {
  return s.length > MAX_ERROR ? `${s.slice(0, MAX_ERROR - 14)}… (truncated)` : s;
}

function findLastActive(entries: readonly HistoryEntry[]): HistoryEntry | undefined {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.outcome === 'active') return entries[i];
  return undefined;
}

/** The entries retention keeps, in their order (see the contract above). */
export function applyRetention(entries: readonly HistoryEntry[], r: Retention): HistoryEntry[] {
  const keep = new Set<HistoryEntry>();
  let active = 0;
  let other = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    if (i === entries.length - 1) keep.add(e);
    if (e.outcome === 'active') {
      if (active++ < r.keepActive) keep.add(e);
    } else if (other++ < r.keepOther) keep.add(e);
  }
  return entries.filter((e) => keep.has(e));
}
