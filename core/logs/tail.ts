// The in-memory tail of one instance's log: its newest records, bounded by count and by the
// bytes of their JSON lines (each up to 25% over before a trim), so `ctx.host.logs(id)` answers
// synchronously without reading a file.
import type { LogRecord } from '../types.ts';

export const TAIL_RECORDS = 500;
export const TAIL_BYTES = 128 * 1024;

export class RecordTail {
  private records: LogRecord[] = [];
  private sizes: number[] = [];
  private bytes = 0;

  constructor(private readonly maxRecords = TAIL_RECORDS, private readonly maxBytes = TAIL_BYTES) {}

  get length(): number { return this.records.length; }

  /** Adds the newest record; `bytes` is the length of its JSON line. */
  push(r: LogRecord, bytes: number): void {
    this.records.push(r);
    this.sizes.push(bytes);
    this.bytes += bytes;
    this.trim();
  }

  /** Puts older records (oldest first) in front of what is kept, e.g. history read from the file. */
  prepend(older: ReadonlyArray<{ record: LogRecord; bytes: number }>): void {
    if (!older.length) return;
    this.records = [...older.map((o) => o.record), ...this.records];
    this.sizes = [...older.map((o) => o.bytes), ...this.sizes];
    this.bytes += older.reduce((n, o) => n + o.bytes, 0);
    this.trim();
  }

  /** Oldest first. The array is the tail's own: callers copy or filter it. */
  all(): readonly LogRecord[] { return this.records; }

  /** Trims back to the bounds once 25% over them: one splice per many pushes, not one per push. */
  private trim(): void {
    if (this.records.length <= this.maxRecords * 1.25 && this.bytes <= this.maxBytes * 1.25) return;
    let drop = 0;
    let bytes = this.bytes;
    while (drop < this.records.length - 1 && (this.records.length - drop > this.maxRecords || bytes > this.maxBytes)) {
      bytes -= this.sizes[drop]!;
      drop++;
    }
    if (drop === 0) return;
    this.records.splice(0, drop);
    this.sizes.splice(0, drop);
    this.bytes = bytes;
  }
}
