// A module's history record: `<root>/records/<encoded name>.jsonl`, one HistoryEntry per line.
//
// kill -9 safety: an entry is appended with one write() and fsynced before the call returns;
// a crash mid-append can only leave a torn LAST line, which readers skip. The next append
// first repairs the tail (a torn line that still parses is completed with its newline, one that
// does not is cut off), so a torn line never ends up in the middle. Pruning rewrites the file
// with writeFileAtomic (old or new content, never a mix). A malformed line anywhere but at the
// end was not written by us and is CHS_ERR_HISTORY_CORRUPT.

import { constants as fsc } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { chsError } from '../errors.ts';
import { fsyncDir, writeFileAtomic } from '../config/atomic.ts';
import { encodeInstanceId } from '../config/revisions.ts';
import { isHash } from './objects.ts';
import type { HistoryEntry } from './types.ts';

const OUTCOMES: ReadonlySet<string> = new Set(['active', 'refused', 'failed']);

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export function recordsFile(root: string, name: string): string {
  if (typeof name !== 'string' || name === '') throw new TypeError('module name must be a non-empty string');
  return join(root, 'records', `${encodeInstanceId(name)}.jsonl`);
}

/** The module name a records file name stands for, or undefined for a foreign file. */
export function nameOfRecordsFile(file: string): string | undefined {
  if (!file.endsWith('.jsonl') || file.startsWith('.')) return undefined;
  try {
    return decodeURIComponent(file.slice(0, -'.jsonl'.length));
  } catch {
    return undefined;
  }
}

function asEntry(v: unknown): HistoryEntry | undefined {
  const e = v as Partial<HistoryEntry> | null;
  if (typeof e !== 'object' || e === null) return undefined;
  if (!Number.isSafeInteger(e.rev) || (e.rev as number) < 1 || !isHash(e.contentId)) return undefined;
  if (typeof e.version !== 'string' || typeof e.at !== 'string' || typeof e.source !== 'string' || !OUTCOMES.has(e.outcome as string)) return undefined;
  if (e.error !== undefined && typeof e.error !== 'string') return undefined;
  if (e.bundleHash !== undefined && typeof e.bundleHash !== 'string') return undefined;
  return e as HistoryEntry;
}

function parseLine(line: string): HistoryEntry | undefined {
  try {
    return asEntry(JSON.parse(line));
  } catch {
    return undefined;
  }
}

/** Entries of a records file, oldest first; [] when there is none. A torn last line is skipped. */
export async function readRecords(file: string): Promise<HistoryEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (errCode(err) === 'ENOENT') return [];
    throw err;
  }
  const lines = text.split('\n');
  const out: HistoryEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const e = parseLine(line);
    const last = i === lines.length - 1; // no newline after it: possibly torn
    if (!e) {
      if (last) continue;
      throw chsError('CHS_ERR_HISTORY_CORRUPT', `${file}: line ${i + 1} is not a history entry`);
    }
    if (out.length && e.rev <= out[out.length - 1]!.rev) throw chsError('CHS_ERR_HISTORY_CORRUPT', `${file}: line ${i + 1} has rev ${e.rev}, not above the previous line's`);
    out.push(e);
  }
  return out;
}

/** Append one entry durably (see the file comment). Callers serialize appends per file. */
export async function appendRecord(file: string, entry: HistoryEntry): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const fh = await open(file, fsc.O_RDWR | fsc.O_CREAT | fsc.O_APPEND, 0o644);
  let fresh = false;
  try {
    const { size } = await fh.stat();
    fresh = size === 0;
    if (size > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) {
        // Torn tail: find where its line starts.
        const text = await readFile(file, 'utf8');
        const start = text.lastIndexOf('\n') + 1;
        if (parseLine(text.slice(start))) await fh.write('\n');
        else await fh.truncate(Buffer.byteLength(text.slice(0, start)));
      }
    }
    await fh.write(JSON.stringify(entry) + '\n');
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (fresh) await fsyncDir(dirname(file)); // a new file's name must be durable too
}

/** Replace the whole file (pruning). */
export async function rewriteRecords(file: string, entries: readonly HistoryEntry[]): Promise<void> {
  await writeFileAtomic(file, entries.map((e) => JSON.stringify(e) + '\n').join(''), { mode: 0o644 });
}

