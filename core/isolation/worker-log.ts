// ctx.log inside an isolated module's worker: pino's call shapes (`info(msg)`, `info(obj, msg)`,
// `error(err)`, `child(bindings)`), each record posted to the host, which writes it through the
// instance's own logger (its log file, `cheshire logs`, /modules/M/log). No pino in the worker:
// it would start a second logging stack per incarnation for records the host writes anyway.
import type { Logger } from 'pino';
import { errorData } from './protocol.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

export type PostLog = (level: string, obj: Record<string, unknown>, msg: string) => void;

function plain(v: unknown): unknown {
  if (v instanceof Error) return errorData(v);
  try {
    return structuredClone(v);
  } catch {
    return String(v);
  }
}

export function workerLogger(post: PostLog, bindings: Record<string, unknown> = {}): Logger {
  const log: Record<string, unknown> = { level: 'trace' };
  for (const level of LEVELS) {
    log[level] = (first?: unknown, ...rest: unknown[]) => {
      let obj: Record<string, unknown> = { ...bindings };
      let msg = '';
      if (first instanceof Error) {
        obj.err = errorData(first);
        msg = typeof rest[0] === 'string' ? rest.map(String).join(' ') : first.message;
      } else if (first !== null && typeof first === 'object') {
        for (const [k, v] of Object.entries(first)) obj[k] = plain(v);
        msg = rest.map(String).join(' ');
      } else {
        msg = [first, ...rest].map(String).join(' ');
      }
      try {
        post(level, obj, msg);
      } catch {
        obj = { ...bindings };
        post(level, obj, msg);
      }
    };
  }
  log.child = (more: Record<string, unknown>) => workerLogger(post, { ...bindings, ...more });
  log.isLevelEnabled = () => true;
  log.silent = () => {};
  return log as unknown as Logger;
}
