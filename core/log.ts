// Structured logging: one pino logger for the host, a child per module instance. Every record
// goes through a LogHub that keeps the recent lines of each instance (for `status`, the 9P
// `log` files and tests) and writes them out as readable lines or as JSON (CHESHIRE_LOG=json).
import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import type { LogRecord } from './types.ts';

export type { LogRecord };

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

export function formatRecord(r: LogRecord): string {
  const t = new Date(r.time).toISOString().slice(11, 23);
  const lvl = (LEVELS[r.level] ?? String(r.level)).padEnd(5);
  const stack = r.err?.stack ? '\n' + r.err.stack.replace(/^/gm, '    ') : '';
  return `${t} ${lvl} ${r.module.padEnd(14)} ${r.msg}${stack}`;
}

/** Keeps the last `keep` records per instance and emits each as 'record'. */
export class LogHub extends EventEmitter<{ record: [LogRecord] }> {
  private readonly rings = new Map<string, LogRecord[]>();
  constructor(
    private readonly out: ((line: string) => void) | null,
    private readonly json: boolean,
    private readonly keep = 500,
  ) {
    super();
  }

  /** pino destination: one JSON line per call. */
  write(line: string): void {
    let rec: LogRecord;
    try {
      rec = JSON.parse(line) as LogRecord;
    } catch {
      rec = { time: Date.now(), level: 30, module: 'host', msg: line.trim() };
    }
    rec.module ??= 'host';
    let ring = this.rings.get(rec.module);
    if (!ring) this.rings.set(rec.module, (ring = []));
    ring.push(rec);
    if (ring.length > this.keep) ring.splice(0, ring.length - this.keep);
    this.out?.(this.json ? line.trimEnd() : formatRecord(rec));
    this.emit('record', rec);
  }

  recent(module: string): LogRecord[] {
    return [...(this.rings.get(module) ?? [])];
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
