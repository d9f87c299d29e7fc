// Log queries: which records of an instance to read (since a time, from a level, the newest N), as
// `ctx.host.logs`/`readLogs` take them and as text (`since=10m level=warn limit=100 follow`), the
// form written to /modules/M/log.query and built by `cheshire logs M --since 10m --level warn`.
import { levels } from 'pino';
import { chsError } from '../errors.ts';
import type { LogQuery, LogRecord } from '../types.ts';

export type { LogQuery };

/** A query and whether to keep following new records after the history. */
export interface LogRequest extends LogQuery {
  follow: boolean;
}

/** pino's level names and numbers (trace 10 ... fatal 60). */
export const LEVEL_VALUES: Readonly<Record<string, number>> = levels.values;

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `10m`, `2h`, `30s`, `1d` (that long before `now`), an ISO time (`2024-05-01T12:00:00Z`, a date
 * alone is midnight UTC), or epoch milliseconds -> epoch milliseconds.
 */
export function parseSince(text: string, now = Date.now()): number {
  const t = text.trim();
  const rel = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(t);
  if (rel) return now - Math.round(Number(rel[1]) * UNITS[rel[2]!]!);
  if (/^\d+$/.test(t)) return Number(t);
  const at = /^\d{4}-\d{2}-\d{2}/.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(at)) {
    throw chsError('CHS_ERR_LOG_QUERY', `since: "${text}" is not a duration (10m, 2h, 30s, 1d), an ISO time (2024-05-01T12:00:00Z) or epoch milliseconds`);
  }
  return at;
}

/** A pino level name (`warn`) or number (`40`) -> its number. */
export function parseLevel(text: string): number {
  const t = text.trim().toLowerCase();
  const named = LEVEL_VALUES[t];
  if (named !== undefined) return named;
  if (/^\d+$/.test(t)) return Number(t);
  throw chsError('CHS_ERR_LOG_QUERY', `level: "${text}" is not a level (${Object.keys(LEVEL_VALUES).join(', ')}) or a number`);
}

function parseLimit(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw chsError('CHS_ERR_LOG_QUERY', `limit: "${text}" is not a positive whole number`);
  return Number(text);
}

/** `since=10m level=warn limit=100 follow` (any order, each optional) -> a request. */
export function parseLogRequest(text: string, now = Date.now()): LogRequest {
  const req: LogRequest = { follow: false };
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    const value = eq < 0 ? '' : word.slice(eq + 1);
    if (key === 'follow' && eq < 0) req.follow = true;
    else if (key === 'since' && value) req.since = parseSince(value, now);
    else if (key === 'level' && value) req.level = parseLevel(value);
    else if (key === 'limit' && value) req.limit = parseLimit(value);
    else throw chsError('CHS_ERR_LOG_QUERY', `"${word}" is not since=T, level=L, limit=N or follow`);
  }
  return req;
}

/** The text form of a request (what parseLogRequest reads back). */
export function logRequestText(req: Partial<LogRequest>): string {
  const words: string[] = [];
  if (req.since !== undefined) words.push(`since=${req.since}`);
  if (req.level !== undefined) words.push(`level=${req.level}`);
  if (req.limit !== undefined) words.push(`limit=${req.limit}`);
  if (req.follow) words.push('follow');
  return words.join(' ');
}

/** Whether a record passes a query's since and level (limit is applied to the result). */
export function matchesQuery(r: LogRecord, q: LogQuery): boolean {
  return (q.since === undefined || r.time >= q.since) && (q.level === undefined || r.level >= q.level);
}

/** The records of `records` (oldest first) that match, the newest `limit` of them. */
export function select(records: readonly LogRecord[], q: LogQuery = {}): LogRecord[] {
  const out = q.since === undefined && q.level === undefined ? [...records] : records.filter((r) => matchesQuery(r, q));
  return q.limit !== undefined && out.length > q.limit ? out.slice(out.length - q.limit) : out;
}
