// Module version history and rollback: the one entry point of core/history (see store.ts).
export { VersionStore, applyRetention } from './store.ts';
export type { RestoreResult } from './restore.ts';
export type { ScanOptions } from './snapshot.ts';
export { DEFAULT_LIMITS, DEFAULT_RETENTION } from './types.ts';
export type {
  HistoryEntry, HistoryLimits, HistoryOutcome, HistorySource, Manifest, ManifestEntry, PruneResult,
  RecordInput, RecordResult, Retention, Snapshot, VersionStoreOptions,
} from './types.ts';
