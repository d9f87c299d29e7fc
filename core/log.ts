// Structured logging: one pino logger for the host, a child per module instance. Every record
// goes through a LogHub, which prints it (readable lines, or JSON with CHESHIRE_LOG=json), hands
// it to the LogStore (core/logs: per-instance JSON-lines files under <stateDir>/logs, rotated,
// and an in-memory tail of each) and emits it to live listeners (onLog, the 9P log files).
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import { LogStore } from './logs/store.ts';
import type { LogFileOptions } from './logs/files.ts';
import type { LogQuery, LogRecord } from './types.ts';

export type { LogQuery, LogRecord, LogFileOptions };

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A record as a readable line (what the terminal, /modules/M/log and `cheshire logs` show). */
export function formatRecord(r: LogRecord): string {
  const t = new Date(r.time).toISOString().slice(11, 23);
  const lvl = (LEVELS[r.level] ?? String(r.level)).padEnd(5);
  const stack = r.err?.stack ? '\n' + r.err.stack.replace(/^/gm, '    ') : '';
  return `${t} ${lvl} ${r.module.padEnd(14)} ${r.msg}${stack}`;
}

/** Takes every record: prints it, stores it (files and tails), emits it as 'record'. */
export class LogHub extends EventEmitter<{ record: [LogRecord] }> {
  readonly store: LogStore;

  constructor(
    private readonly out: ((line: string) => void) | null,
    private readonly json: boolean,
    store?: LogStore,
  ) {
    super();
    this.store = store ?? new LogStore();
  }

  /** pino destination: one JSON line per call. */
  write(line: string): void {
    let rec: LogRecord;
    let stored = line.trimEnd();
    try {
      rec = JSON.parse(stored) as LogRecord;
    } catch {
      rec = { time: Date.now(), level: 30, module: 'host', msg: stored };
      stored = JSON.stringify(rec);
    }
    rec.module ??= 'host';
    this.store.add(rec, stored);
    this.out?.(this.json ? stored : formatRecord(rec));
    this.emit('record', rec);
  }

  /** An instance's recent records (its in-memory tail, earlier runs included), filtered. */
  recent(module: string, q?: LogQuery): LogRecord[] {
    return this.store.recent(module, q);
  }

  /** An instance's records from its files, filtered: exactly those logged before the call. */
  read(module: string, q?: LogQuery): Promise<LogRecord[]> {
    return this.store.read(module, q);
  }

  /** Writes the records to files under `dir` from now on (and what was logged before). */
  attach(dir: string, opts?: LogFileOptions): void {
    this.store.attach(dir, opts);
  }

  /** Writes what is queued and closes the files. */
  close(): Promise<void> {
    return this.store.close();
  }
}

export interface HostLogging {
  hub: LogHub;
  root: Logger;
}

export function createLogging(opts: { level?: string; out?: ((line: string) => void) | null; json?: boolean } = {}): HostLogging {
  const json = opts.json ?? process.env.CHESHIRE_LOG === 'json';
  const out = opts.out === undefined ? (line: string) => process.stdout.write(line + '\n') : opts.out;
  const hub = new LogHub(out, json);
  const root = pino(
    { level: opts.level ?? process.env.CHESHIRE_LOG_LEVEL ?? 'info', base: { module: 'host' }, timestamp: pino.stdTimeFunctions.epochTime },
    { write: (line: string) => hub.write(line) },
  );
  return { hub, root };
}
