// Reads log records out of opened log files (files.ts openForRead), newest file first, in 64 KiB
// reads through libuv's pool so a 25 MB history never holds the event loop for long. Level and
// time are taken from the start of each pino line by a regex; only lines that pass are parsed.
import { read } from 'node:fs';
import { promisify } from 'node:util';
import type { LogQuery, LogRecord } from '../types.ts';
import type { FileSnapshot } from './files.ts';
import { matchesQuery } from './query.ts';

const readAsync = promisify(read);
const CHUNK = 64 * 1024;
/** The most records one read returns, whatever the query's limit. */
export const MAX_READ = 100_000;

/** A JSON line -> its record (`module` defaulted to `fallbackModule`), or undefined if it is not one. */
export function parseLine(line: string, fallbackModule: string): LogRecord | undefined {
  try {
    const r = JSON.parse(line) as LogRecord;
    if (typeof r !== 'object' || r === null || typeof r.time !== 'number' || typeof r.level !== 'number') return undefined;
    r.module ??= fallbackModule;
    r.msg ??= '';
    return r;
  } catch {
    return undefined;
  }
}

const HEAD = /"level":(\d+),"time":(\d+)/;

/** Whether a line may match, judged from its head without parsing (false only when surely not). */
function mayMatch(line: string, q: LogQuery): boolean {
  if (q.since === undefined && q.level === undefined) return true;
  const m = HEAD.exec(line.length > 80 ? line.slice(0, 80) : line);
  if (!m) return true;
  return (q.level === undefined || Number(m[1]) >= q.level) && (q.since === undefined || Number(m[2]) >= q.since);
}

/** Every complete line of the first `size` bytes of `fd`, in order, to `each`. */
async function eachLine(fd: number, size: number, each: (line: string) => void): Promise<void> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let rest = '';
  for (let at = 0; at < size; ) {
    const { bytesRead } = await readAsync(fd, buf, 0, Math.min(CHUNK, size - at), at);
    if (bytesRead === 0) break;
    at += bytesRead;
    const parts = (rest + buf.toString('utf8', 0, bytesRead)).split('\n');
    rest = parts.pop()!;
    for (const p of parts) if (p) each(p);
  }
  if (rest) each(rest);
}

/**
 * The records of `files` (newest first, as openForRead gives them) that match `q`, oldest first,
 * the newest `limit` (at most MAX_READ). Files all older than `since` (by mtime) are not read, nor
 * older files once `limit` records were found.
 */
export async function scanFiles(files: readonly FileSnapshot[], id: string, q: LogQuery): Promise<LogRecord[]> {
  const limit = Math.min(q.limit ?? MAX_READ, MAX_READ);
  const found: string[][] = [];
  let total = 0;
  for (const f of files) {
    if (total >= limit) break;
    if (q.since !== undefined && f.mtimeMs < q.since) break;
    const lines: string[] = [];
    await eachLine(f.fd, f.size, (line) => { if (mayMatch(line, q)) lines.push(line); });
    found.unshift(lines);
    total += lines.length;
  }
  // Parse from the newest line back, only until `limit` records matched, yielding to the event
  // loop every few thousand lines.
  const out: LogRecord[] = [];
  let parsed = 0;
  for (let i = found.length - 1; i >= 0 && out.length < limit; i--) {
    const lines = found[i]!;
    for (let j = lines.length - 1; j >= 0 && out.length < limit; j--) {
      const r = parseLine(lines[j]!, id);
      if (r && matchesQuery(r, q)) out.push(r);
      if (++parsed % 4096 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return out.reverse();
}
