// One directory of log files, one set per instance: `<dir>/<id>.log` (the current file, JSON
// lines), `<id>.log.1` (the previous) ... `<id>.log.<maxFiles-1>`; ids are made file-safe with
// encodeURIComponent (`greeter#fr` -> `greeter%23fr.log`). When a write would take the current
// file past maxBytes it is rotated first (renames down the chain, the oldest dropped), so an
// instance never holds more than maxFiles x maxBytes on disk (a single record over maxBytes gets a
// file of its own).
//
// Written here rather than with rotating-file-stream or pino-roll: both keep a descriptor per
// stream for its lifetime (1,000 instances = 1,000 descriptors) and pino-roll runs in a worker
// thread per transport; here descriptors are shared through a small cache (fd-cache.ts).
import { closeSync, fstatSync, mkdirSync, openSync, readSync, appendFileSync } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FdCache } from './fd-cache.ts';

export interface LogFileOptions {
  /** Size at which the current file is rotated (bytes). */
  maxBytes: number;
  /** Files kept per instance, the current one included (1: the current file is discarded at rotation). */
  maxFiles: number;
}

export const DEFAULT_LOG_FILES: LogFileOptions = { maxBytes: 5 * 1024 * 1024, maxFiles: 5 };

/** A file opened for reading at a moment: its descriptor and the size it had then. */
export interface FileSnapshot {
  fd: number;
  size: number;
  mtimeMs: number;
}

export function logFileName(id: string): string {
  return `${encodeURIComponent(id)}.log`;
}

const missing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class LogFiles {
  private readonly fds: FdCache;
  /** Known size of each instance's current file (read from disk at its first write). */
  private readonly sizes = new Map<string, number>();

  constructor(readonly dir: string, public opts: LogFileOptions, fdCache?: { max?: number; idleMs?: number }) {
    mkdirSync(dir, { recursive: true });
    this.fds = new FdCache(fdCache?.max, fdCache?.idleMs);
  }

  /** Descriptors held open for appending right now. */
  get openFiles(): number { return this.fds.size; }

  path(id: string, generation = 0): string {
    const base = join(this.dir, logFileName(id));
    return generation === 0 ? base : `${base}.${generation}`;
  }

  /** Appends JSON lines (no newlines of their own) to an instance's file, rotating as needed. Not concurrent per id. */
  async append(id: string, lines: readonly string[]): Promise<void> {
    let size = this.sizes.get(id) ?? (await stat(this.path(id)).then((s) => s.size, () => 0));
    let batch: string[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (!batch.length) return;
      const text = batch.join('\n') + '\n';
      await this.fds.use(this.path(id), (fh) => fh.appendFile(text));
      size += batchBytes;
      batch = [];
      batchBytes = 0;
    };
    try {
      for (const line of lines) {
        const n = Buffer.byteLength(line) + 1;
        if (size + batchBytes > 0 && size + batchBytes + n > this.opts.maxBytes) {
          await flush();
          await this.rotate(id);
          size = 0;
        }
        batch.push(line);
        batchBytes += n;
      }
      await flush();
    } finally {
      this.sizes.set(id, size);
    }
  }

  /** Current -> .1 -> .2 ...; what would become .maxFiles is dropped. */
  private async rotate(id: string): Promise<void> {
    await this.fds.close(this.path(id));
    const keep = this.opts.maxFiles;
    // Files beyond the chain (maxFiles was lowered) go first, then the chain moves down one.
    for (let g = keep; ; g++) {
      try { await unlink(this.path(id, g)); } catch { break; }
    }
    for (let g = keep - 1; g >= 1; g--) {
      try {
        await rename(this.path(id, g - 1), this.path(id, g));
      } catch (err) {
        if (!missing(err)) throw err;
      }
    }
    if (keep <= 1) await unlink(this.path(id)).catch((err: unknown) => { if (!missing(err)) throw err; });
    this.sizes.set(id, 0);
  }

  /**
   * Opens every file of an instance for reading, newest first, with its size now: reading them
   * later sees exactly what was written before this call, whatever is appended or rotated since
   * (a renamed or deleted file stays readable through its descriptor). Close them with closeSnapshot.
   */
  openForRead(id: string): FileSnapshot[] {
    const out: FileSnapshot[] = [];
    for (let g = 0; g < Math.max(1, this.opts.maxFiles); g++) {
      let fd: number;
      try {
        fd = openSync(this.path(id, g), 'r');
      } catch (err) {
        if (missing(err)) continue;
        closeSnapshot(out);
        throw err;
      }
      const st = fstatSync(fd);
      out.push({ fd, size: st.size, mtimeMs: st.mtimeMs });
    }
    return out;
  }

  /**
   * The newest complete lines of an instance's files, up to about `maxBytes` of them, oldest
   * first; synchronous (one or two small reads), for loading the in-memory tail.
   */
  tailSync(id: string, maxBytes: number): string[] {
    const lines: string[] = [];
    let need = maxBytes;
    for (let g = 0; g < Math.max(1, this.opts.maxFiles) && need > 0; g++) {
      let fd: number;
      try {
        fd = openSync(this.path(id, g), 'r');
      } catch {
        continue;
      }
      try {
        const size = fstatSync(fd).size;
        const start = Math.max(0, size - need);
        const buf = Buffer.allocUnsafe(size - start);
        let got = 0;
        while (got < buf.length) {
          const n = readSync(fd, buf, got, buf.length - got, start + got);
          if (n === 0) break;
          got += n;
        }
        const text = buf.subarray(0, got).toString('utf8').split('\n');
        if (start > 0) text.shift(); // a partial first line
        lines.unshift(...text.filter((l) => l.length > 0));
        need -= got;
      } finally {
        closeSync(fd);
      }
    }
    return lines;
  }

  /** Last resort at process exit: appends without rotating or waiting. */
  appendSync(id: string, lines: readonly string[]): void {
    if (lines.length) appendFileSync(this.path(id), lines.join('\n') + '\n');
  }

  close(): Promise<void> {
    return this.fds.closeAll();
  }
}

export function closeSnapshot(files: readonly FileSnapshot[]): void {
  for (const f of files) {
    try { closeSync(f.fd); } catch { /* already closed */ }
  }
}
