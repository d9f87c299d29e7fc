// The node's log records: each instance's in-memory tail (for synchronous `logs(id)`) and its
// JSON-lines files under <stateDir>/logs (files.ts), which every reader ends up reading: the CLI,
// the tree's log files and the dashboard, so history survives a restart.
//
// Writes never block: a record is queued and one drain loop appends each instance's queued lines
// in one write, so a burst costs one write per instance, not one per record. Reads of the files
// go through the same loop: a read first writes what was queued for the instance before the
// call, then snapshots its files (descriptors and sizes); so it returns exactly the records logged
// before the call, and the writes after it wait only for the snapshot, not for the reading.
// Records that arrive before the state dir is known (attach) are kept queued, up to MAX_PENDING.
import { chsError } from '../errors.ts';
import type { LogQuery, LogRecord } from '../types.ts';
import { closeSnapshot, DEFAULT_LOG_FILES, LogFiles, type FileSnapshot, type LogFileOptions } from './files.ts';
import { select } from './query.ts';
import { parseLine, scanFiles } from './scan.ts';
import { RecordTail, TAIL_BYTES } from './tail.ts';

const MAX_PENDING = 10_000;
const REPORT_EVERY_MS = 60_000;

export class LogStore {
  private files: LogFiles | null = null;
  private readonly tails = new Map<string, RecordTail>();
  /** Tails made before attach: their files' history is put in front of them at attach. */
  private readonly unloaded = new Set<string>();
  private readonly pending = new Map<string, string[]>();
  private pendingLines = 0;
  private readonly tasks: Array<() => Promise<void>> = [];
  private draining: Promise<void> | null = null;
  private closing: Promise<void> | null = null;
  private lastReport = 0;
  private unreported = 0;

  constructor(private readonly fdCache: { max?: number; idleMs?: number } = {}) {}

  get attached(): boolean { return this.files !== null; }
  get dir(): string | null { return this.files?.dir ?? null; }
  /** Descriptors held open for writing right now (bounded by the cache, whatever the instance count). */
  get openFiles(): number { return this.files?.openFiles ?? 0; }

  /** Starts (or moves) writing to `dir`; queued records are written, earlier history loaded. Idempotent. */
  attach(dir: string, opts: LogFileOptions = DEFAULT_LOG_FILES): void {
    if (this.closing) return;
    if (this.files?.dir === dir) {
      this.files.opts = opts;
      return;
    }
    const old = this.files;
    this.files = new LogFiles(dir, opts, this.fdCache);
    if (old) void this.flush().then(() => old.close());
    for (const id of this.unloaded) this.loadHistory(id, this.tails.get(id)!);
    this.unloaded.clear();
    exitFlush.add(this);
    this.kick();
  }

  /** Takes one record and its JSON line (no trailing newline). */
  add(rec: LogRecord, line: string): void {
    this.tailOf(rec.module).push(rec, line.length + 1);
    if (this.closing) return;
    let q = this.pending.get(rec.module);
    if (!q) this.pending.set(rec.module, (q = []));
    q.push(line);
    this.pendingLines++;
    if (!this.files && this.pendingLines > MAX_PENDING) this.dropOldestPending();
    this.kick();
  }

  /** An instance's in-memory tail, filtered. */
  recent(id: string, q?: LogQuery): LogRecord[] {
    return select(this.tailOf(id).all(), q);
  }

  /** An instance's records from its files, filtered; exactly those logged before the call. */
  read(id: string, q: LogQuery = {}): Promise<LogRecord[]> {
    if (!this.files) return Promise.resolve(this.recent(id, q));
    const lines = this.takePending(id);
    return new Promise<LogRecord[]>((resolve, reject) => {
      this.tasks.push(async () => {
        let snapshot: FileSnapshot[];
        try {
          const files = this.files!;
          if (lines.length) await this.write(files, id, lines);
          snapshot = files.openForRead(id);
        } catch (err) {
          reject(err);
          return;
        }
        scanFiles(snapshot, id, q).then(resolve, reject).finally(() => closeSnapshot(snapshot));
      });
      this.kick();
    });
  }

  /** Resolves when everything queued so far is written. */
  async flush(): Promise<void> {
    while (this.draining || (this.files && (this.pending.size || this.tasks.length))) {
      this.kick();
      await this.draining;
    }
  }

  /** Writes what is queued and closes the files; later records stay in memory only. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.flush();
      this.pending.clear();
      exitFlush.delete(this);
      await this.files?.close();
    })();
    return this.closing;
  }

  /** At process exit: what is still queued, written synchronously. */
  flushSync(): void {
    if (!this.files) return;
    for (const [id, lines] of this.pending) {
      try { this.files.appendSync(id, lines); } catch { /* exiting: nothing more to do */ }
    }
    this.pending.clear();
  }

  private tailOf(id: string): RecordTail {
    let t = this.tails.get(id);
    if (t) return t;
    t = new RecordTail();
    this.tails.set(id, t);
    if (this.files) this.loadHistory(id, t);
    else this.unloaded.add(id);
    return t;
  }

  /** Puts the newest records of an instance's files in front of its tail (a small synchronous read). */
  private loadHistory(id: string, t: RecordTail): void {
    let lines: string[];
    try {
      lines = this.files!.tailSync(id, TAIL_BYTES);
    } catch (err) {
      this.report(err, id);
      return;
    }
    const older: Array<{ record: LogRecord; bytes: number }> = [];
    for (const line of lines) {
      const record = parseLine(line, id);
      if (record) older.push({ record, bytes: line.length + 1 });
    }
    t.prepend(older);
  }

  private takePending(id: string): string[] {
    const lines = this.pending.get(id) ?? [];
    this.pending.delete(id);
    this.pendingLines -= lines.length;
    return lines;
  }

  private dropOldestPending(): void {
    const [id, q] = this.pending.entries().next().value!;
    q.shift();
    this.pendingLines--;
    if (!q.length) this.pending.delete(id);
  }

  private kick(): void {
    if (this.draining || !this.files || (!this.tasks.length && !this.pending.size)) return;
    this.draining = this.drain().finally(() => {
      this.draining = null;
      this.kick();
    });
  }

  /** One loop for all file work: read snapshots first, then each instance's queue in turn. */
  private async drain(): Promise<void> {
    for (;;) {
      const files = this.files;
      if (!files) return;
      const task = this.tasks.shift();
      if (task) {
        await task();
        continue;
      }
      const next = this.pending.keys().next();
      if (next.done) return;
      const id = next.value;
      await this.write(files, id, this.takePending(id));
    }
  }

  private async write(files: LogFiles, id: string, lines: string[]): Promise<void> {
    try {
      await files.append(id, lines);
    } catch (err) {
      this.report(err, id);
    }
  }

  /** A failed write goes to stderr (not to the log: it would queue more writes), once a minute. */
  private report(err: unknown, id: string): void {
    const now = Date.now();
    if (now - this.lastReport < REPORT_EVERY_MS) {
      this.unreported++;
      return;
    }
    const more = this.unreported ? ` (${this.unreported} more failures since the last report)` : '';
    this.lastReport = now;
    this.unreported = 0;
    const path = this.files?.path(id) ?? id;
    process.stderr.write(`${chsError('CHS_ERR_LOG_FILE', `${path}: ${(err as Error).message ?? String(err)}${more}`).message}\n`);
  }
}

/** Stores with files attached: what they still hold queued is written when the process exits. */
const exitFlush = new Set<LogStore>();
process.on('exit', () => {
  for (const s of exitFlush) s.flushSync();
});
