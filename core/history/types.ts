// The shapes of a module's version history: manifests (what files a version is made of), the
// per-module record entries, and the store's limits and retention options.

/** One file of a version: a regular file (its bytes are the object `hash`) or a symlink. */
export type ManifestEntry =
  | { kind: 'file'; hash: string; mode: number; size: number }
  | { kind: 'link'; target: string };

/**
 * A version's file set: path relative to the module folder (always `/`-separated, clean, no
 * `node_modules` or dot segments) -> entry. Stored canonically (sorted keys, no spaces) as an
 * object of its own; the sha256 of those bytes is the version's content id.
 */
export interface Manifest {
  v: 1;
  files: Record<string, ManifestEntry>;
}

/** What activated (or tried to activate) a version. Free-form beyond the known ones. */
export type HistorySource = 'save' | 'install' | 'rollback' | 'ctl' | 'start' | 'promote' | (string & {});

export type HistoryOutcome = 'active' | 'refused' | 'failed';

/** One line of a module's record: a version that became active, or was refused / failed. */
export interface HistoryEntry {
  /** 1, 2, 3... per module; never reused, also after pruning. */
  rev: number;
  /** sha256 (hex) of the version's canonical manifest. */
  contentId: string;
  /** package.json "version" of that file set ('' if it had none). */
  version: string;
  /** ISO time of the record. */
  at: string;
  source: HistorySource;
  outcome: HistoryOutcome;
  /** Why it was refused / failed (kept to its first 4000 characters). */
  error?: string;
  /** The loader's hash of the bundled code (LoadedCode.hash), if the version was bundled. */
  bundleHash?: string;
}

export interface RecordInput {
  contentId: string;
  source: HistorySource;
  outcome: HistoryOutcome;
  /** Default: the "version" of the package.json in the manifest. */
  version?: string;
  error?: string;
  bundleHash?: string;
}

export interface RecordResult {
  entry: HistoryEntry;
  /** false when a 'start' record was folded into an existing entry (see VersionStore.record). */
  created: boolean;
}

/** The result of snapshot(): the version's content id and manifest, stored and pinned. */
export interface Snapshot {
  contentId: string;
  manifest: Manifest;
  /** package.json "version" ('' if none or unreadable). */
  version: string;
  /** Files (and links) in the manifest, their total bytes, and objects newly written. */
  files: number;
  bytes: number;
  newObjects: number;
}

export interface HistoryLimits {
  /** Largest single file kept. Default 16 MiB. */
  maxFileBytes: number;
  /** Largest total of one snapshot's files. Default 64 MiB. */
  maxSnapshotBytes: number;
  /** Most files (and links) in one snapshot. Default 10 000. */
  maxFiles: number;
}

export interface Retention {
  /** Active entries kept per module (newest first). Default 20, at least 1. */
  keepActive: number;
  /** Refused / failed entries kept per module (newest first). Default 20. */
  keepOther: number;
}

export interface VersionStoreOptions {
  limits?: Partial<HistoryLimits>;
  retention?: Partial<Retention>;
}

export interface PruneResult {
  removedEntries: number;
  removedObjects: number;
  removedBytes: number;
  keptObjects: number;
}

export const DEFAULT_LIMITS: HistoryLimits = { maxFileBytes: 16 * 1024 * 1024, maxSnapshotBytes: 64 * 1024 * 1024, maxFiles: 10_000 };
export const DEFAULT_RETENTION: Retention = { keepActive: 20, keepOther: 20 };
/** A module's watch globs when its package.json names none (as core/descriptor.ts). */
export const DEFAULT_WATCH: readonly string[] = ['**/*.ts', '**/*.js', '**/*.json'];
