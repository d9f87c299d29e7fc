// `cheshire logs M [-f] [--since T] [--level L] [--lines N] [--json]`: an instance's records from
// the node's log files, through /modules/M/log.query (one query per fid: write it, read the JSON
// lines back). With -f the same fid keeps answering new records; a 0-byte read there means "no
// more for now" and the next read waits, two in a row mean the answer is complete (docs/9p.md).
import type { Client } from '../../fs/client/client.ts';
import { formatRecord } from '../log.ts';
import { parseLogRequest } from '../logs/query.ts';
import type { LogRecord } from '../types.ts';

export interface LogsOptions {
  follow: boolean;
  /** `10m`, `2h`, an ISO time or epoch ms; relative times are taken on the node's clock. */
  since?: string;
  /** A pino level name or number: that level and above. */
  level?: string;
  /** The newest N records (default 200 unless `since` is given). */
  lines?: string;
  /** Print the JSON records instead of readable lines. */
  json?: boolean;
}

export const DEFAULT_LINES = 200;

/** The query line for log.query; a bad value throws CHS_ERR_LOG_QUERY before anything connects. */
export function logsQuery(o: LogsOptions): string {
  const words: string[] = [];
  if (o.since !== undefined) words.push(`since=${o.since}`);
  if (o.level !== undefined) words.push(`level=${o.level}`);
  const lines = o.lines ?? (o.since === undefined ? String(DEFAULT_LINES) : undefined);
  if (lines !== undefined) words.push(`limit=${lines}`);
  if (o.follow) words.push('follow');
  const text = words.join(' ');
  parseLogRequest(text);
  return text;
}

/** Runs `query` on /modules/ID/log.query and writes each record out as it arrives. */
export async function printLogs(c: Client, id: string, query: string, json: boolean, out: (text: string) => void): Promise<void> {
  const fid = await c.walkPath(`/modules/${id}/log.query`);
  try {
    await c.open(fid, 'rw');
    await c.write(fid, 0n, Buffer.from(`${query}\n`));
    const decoder = new TextDecoder();
    let rest = '';
    let offset = 0n;
    for (let zeros = 0; zeros < 2; ) {
      const data = await c.read(fid, offset, c.iounit);
      if (data.length === 0) {
        zeros++;
        continue;
      }
      zeros = 0;
      offset += BigInt(data.length);
      const lines = (rest + decoder.decode(data, { stream: true })).split('\n');
      rest = lines.pop()!;
      const text = lines.filter(Boolean).map((l) => (json ? l : formatRecord(JSON.parse(l) as LogRecord)) + '\n').join('');
      if (text) out(text);
    }
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
}
