// Crash-safe file writes and strict JSON reads for config files.
//
// writeFileAtomic() never leaves a half-written target behind: the bytes go to a temp file in
// the same directory (so the final rename stays on one filesystem and is atomic), the temp file
// is fsynced, renamed over the target, and the directory is fsynced so the rename itself is
// durable. A reader (or a process restarted after kill -9 / power loss) sees either the old
// content or the new one, never a mix. On failure the temp file is removed and the error rethrown.

import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { chsError } from '../errors.ts';

export interface WriteAtomicOptions {
  /** File mode of the result. Default: the existing target's mode, else 0o666 minus the umask. */
  mode?: number;
}

/** `.<base>.<pid>.<random>.tmp` — hidden, unique per writer, recognisable for cleanup. */
export function tempNameFor(target: string): string {
  const base = basename(target).slice(0, 200); // keep well under NAME_MAX with the suffix
  return join(dirname(target), `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Matches the temp files writeFileAtomic() creates for a target named `base`. */
export function isTempFileOf(base: string, name: string): boolean {
  const prefix = `.${base.slice(0, 200)}.`;
  return name.startsWith(prefix) && /^\d+\.[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length));
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** Follow a symlinked target so the link survives and the file it points at is replaced. */
async function resolveTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if (errCode(err) === 'ENOENT') return path;
    throw err;
  }
}

async function existingMode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mode & 0o7777;
  } catch (err) {
    if (errCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

/** fsync a directory so a rename inside it is durable. Filesystems / platforms that cannot
 *  fsync a directory (Windows, some network filesystems) report one of these codes. */
const DIR_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EPERM', 'EINVAL', 'ENOTSUP', 'EBADF', 'EACCES']);

export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, fsc.O_RDONLY);
    await fh.sync();
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has(errCode(err) ?? '')) throw err;
  } finally {
    await fh?.close().catch(() => {});
  }
}

export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: WriteAtomicOptions = {},
): Promise<void> {
  const target = await resolveTarget(path);
  const mode = opts.mode ?? (await existingMode(target));
  const tmp = tempNameFor(target);
  let created = false;
  try {
    // O_EXCL: never write through a file someone else planted under our temp name.
    const fh = await open(tmp, 'wx', mode ?? 0o666);
    created = true;
    try {
      // open()'s mode is filtered by the umask; chmod sets the wanted / preserved mode exactly.
      if (mode !== undefined) await fh.chmod(mode);
      await fh.writeFile(data); // loops until every byte is written
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
    created = false; // the temp name no longer exists
    await fsyncDir(dirname(target));
  } catch (err) {
    if (created) await unlink(tmp).catch(() => {});
    throw err;
  }
}

// --- strict JSON reading -----------------------------------------------------------------

/**
 * Offset of the first JSON syntax error in `text` (V8's messages only sometimes carry one).
 * Returns text.length for a premature end, -1 if the text is valid JSON.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  class Bad { constructor(readonly at: number) {} }
  const ws = () => { while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++; };
  const digits = () => { const s = i; while (i < n && text[i]! >= '0' && text[i]! <= '9') i++; if (i === s) throw new Bad(i); };
  const value = (): void => {
    ws();
    if (i >= n) throw new Bad(n);
    const c = text[i]!;
    if (c === '{') {
      i++; ws();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Bad(Math.min(i, n));
        string(); ws();
        if (text[i] !== ':') throw new Bad(Math.min(i, n));
        i++; value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return; }
        throw new Bad(Math.min(i, n));
      }
    }
    if (c === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) {
        value(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return; }
        throw new Bad(Math.min(i, n));
      }
    }
    if (c === '"') return string();
    if (c === '-' || (c >= '0' && c <= '9')) {
      if (c === '-') i++;
      if (text[i] === '0') i++; else digits();
      if (text[i] === '.') { i++; digits(); }
      if (text[i] === 'e' || text[i] === 'E') { i++; if (text[i] === '+' || text[i] === '-') i++; digits(); }
      return;
    }
    for (const lit of ['true', 'false', 'null']) {
      if (c === lit[0]) {
        for (let k = 0; k < lit.length; k++, i++) if (text[i] !== lit[k]) throw new Bad(Math.min(i, n));
        return;
      }
    }
    throw new Bad(i);
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= n) throw new Bad(n);
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return; }
      if (c < 0x20) throw new Bad(i);
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === undefined) throw new Bad(n);
        if (e === 'u') {
          for (let k = 2; k < 6; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) throw new Bad(Math.min(i + k, n));
          i += 6;
        } else if ('"\\/bfnrt'.includes(e)) i += 2;
        else throw new Bad(i + 1);
      } else i++;
    }
  };
  try {
    value(); ws();
    return i < n ? i : -1;
  } catch (err) {
    if (err instanceof Bad) return err.at;
    throw err;
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text[k] === '\n') { line++; lineStart = k + 1; }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Parse `text` as JSON; on failure throw CHS_ERR_CONFIG_PARSE naming `file` and the position. */
export function parseJsonText(text: string, file: string): unknown {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0; // editors on Windows like to add one
  const body = bom ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    const found = jsonErrorOffset(body);
    // Fall back to V8's own "at position N" if our scanner disagrees about validity.
    const offset = found >= 0 ? found : Number(/at position (\d+)/.exec(reason)?.[1] ?? body.length);
    const { line, column } = lineColumn(body, offset);
    // V8 may quote the whole input in its message; keep the error one readable line.
    const shortReason = reason.length > 160 ? reason.slice(0, 157) + '...' : reason;
    throw chsError(
      'CHS_ERR_CONFIG_PARSE',
      `${file}: invalid JSON at line ${line} column ${column} (offset ${offset + bom}): ${shortReason}`,
      err,
    );
  }
}

/** Read and parse a JSON file. Read errors (ENOENT, EACCES, ...) are rethrown as they are. */
export async function readJsonFile(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  return parseJsonText(text, path);
}
