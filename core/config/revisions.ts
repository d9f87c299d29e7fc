// Numbered config revisions per module instance, kept on disk so a bad change can be reverted:
//   <dir>/<encodeURIComponent(instance id)>/<rev, 6 digits>.json
// Each file holds one Revision (rev, time, source, note, config) and is written atomically.
// record() calls for one instance are serialized (per process, across RevisionStore objects
// on the same directory), so concurrent callers never get the same number. One process is
// expected to own the directory; separate processes writing the same instance are not locked.

import { mkdir, readdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chsError } from '../errors.ts';
import { readJsonFile, writeFileAtomic } from './atomic.ts';
import { jsonEqual } from './diff.ts';
import type { Revision, RevisionSource } from '../types.ts';

export type { Revision, RevisionSource };

/** Which revisions an instance keeps: the newest `keep`, none older than `maxAgeDays` (0: no age limit). The latest and the pinned ones are always kept. */
export interface RevisionRetention {
  keep: number;
  maxAgeDays: number;
}

export interface PruneReport {
  removed: number[];
  kept: number;
}

const PINS = 'pins.json';
const DAY_MS = 86_400_000;

const SOURCES: ReadonlySet<string> = new Set<RevisionSource>(['start', 'api', 'file', 'revert']);
const REV_FILE = /^(\d{6,})\.json$/; // 6 digits, more past 999999

/** Directory name for an instance id: '#', '@', '/', ... percent-encoded; never '.', '..' or hidden. */
export function encodeInstanceId(id: string): string {
  return encodeURIComponent(id)
    .replace(/^\./, '%2E') // '.', '..' and dot-files
    .replace(/\*/g, '%2A'); // not allowed in Windows file names
}

export function revisionFileName(rev: number): string {
  return `${String(rev).padStart(6, '0')}.json`;
}

/** Per-process lock chains keyed by resolved directory + instance id. */
const chains = new Map<string, Promise<unknown>>();

async function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = chains.get(key) ?? Promise.resolve();
  const run = prev.then(fn, fn);
  const tail = run.catch(() => {});
  chains.set(key, tail);
  try {
    return await run;
  } finally {
    if (chains.get(key) === tail) chains.delete(key);
  }
}

export class RevisionStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  private instanceDir(id: string): string {
    if (typeof id !== 'string' || id === '') throw new TypeError('instance id must be a non-empty string');
    return join(this.dir, encodeInstanceId(id));
  }

  /** Revision numbers present for `id`, ascending; [] for an unknown instance. */
  private async revNumbers(id: string): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.instanceDir(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const revs: number[] = [];
    for (const name of names) {
      const m = REV_FILE.exec(name); // temp files (".<name>.<pid>.<rnd>.tmp") do not match
      if (m) revs.push(Number(m[1]));
    }
    return revs.sort((a, b) => a - b);
  }

  private async readRev(id: string, rev: number): Promise<Revision> {
    const file = join(this.instanceDir(id), revisionFileName(rev));
    const value = await readJsonFile(file);
    const r = value as Partial<Revision> | null;
    if (
      typeof r !== 'object' || r === null || r.rev !== rev || typeof r.at !== 'string' ||
      !SOURCES.has(r.source as string) || typeof r.config !== 'object' || r.config === null ||
      Array.isArray(r.config)
    ) {
      throw chsError('CHS_ERR_CONFIG_PARSE', `${file}: not a revision record of rev ${rev}`);
    }
    return r as Revision;
  }

  /**
   * Store `config` as the next revision of `id` (1 for the first). If it equals the latest
   * revision's config (JSON semantics), nothing is written and the latest is returned.
   */
  async record(
    id: string,
    config: Record<string, unknown>,
    source: RevisionSource,
    note?: string,
  ): Promise<Revision> {
    const dir = this.instanceDir(id);
    if (!SOURCES.has(source)) throw new TypeError(`unknown revision source: ${String(source)}`);
    // A JSON round trip: what is compared is exactly what would be stored, and the stored
    // copy does not alias the caller's object.
    const stored = JSON.parse(JSON.stringify(config)) as unknown;
    if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) {
      throw new TypeError('config must be a plain object');
    }
    return serialize(`${this.dir}\0${id}`, async () => {
      const last = await this.latest(id);
      if (last && jsonEqual(last.config, stored)) return last;
      const rev: Revision = {
        rev: (last?.rev ?? 0) + 1,
        at: new Date().toISOString(),
        source,
        ...(note !== undefined ? { note } : {}),
        config: stored as Record<string, unknown>,
      };
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, revisionFileName(rev.rev)), JSON.stringify(rev, null, 2) + '\n');
      return rev;
    });
  }

  /** All revisions of `id`, oldest first (pinned ones marked); [] for an unknown instance. */
  async list(id: string): Promise<Revision[]> {
    const revs = await this.revNumbers(id);
    const pins = new Set(await this.pins(id));
    return Promise.all(revs.map(async (r) => {
      const rev = await this.readRev(id, r);
      return pins.has(r) ? { ...rev, pinned: true } : rev;
    }));
  }

  /** The revisions of `id` a user pinned (kept by every prune), ascending. */
  async pins(id: string): Promise<number[]> {
    try {
      const v = (await readJsonFile(join(this.instanceDir(id), PINS))) as { pinned?: unknown };
      return Array.isArray(v.pinned) ? v.pinned.filter((n): n is number => Number.isSafeInteger(n)).sort((a, b) => a - b) : [];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Pins (or unpins) revision `rev` of `id`; it must exist to be pinned. Returns the pins. */
  async pin(id: string, rev: number, pinned = true): Promise<number[]> {
    if (pinned) await this.get(id, rev); // CHS_ERR_REVISION_NOT_FOUND for a revision that is not there
    return serialize(`${this.dir}\0${id}`, async () => {
      const pins = new Set(await this.pins(id));
      if (pinned) pins.add(rev);
      else pins.delete(rev);
      const list = [...pins].sort((a, b) => a - b);
      await mkdir(this.instanceDir(id), { recursive: true });
      await writeFileAtomic(join(this.instanceDir(id), PINS), JSON.stringify({ pinned: list }) + '\n');
      return list;
    });
  }

  /**
   * Drops the revisions of `id` that `retention` no longer keeps: beyond the newest `keep`, or
   * older than `maxAgeDays`. The latest revision (the running config's) and pinned ones stay.
   */
  async prune(id: string, retention: RevisionRetention, now = Date.now()): Promise<PruneReport> {
    return serialize(`${this.dir}\0${id}`, async () => {
      const revs = await this.revNumbers(id);
      const pins = new Set(await this.pins(id));
      const latest = revs[revs.length - 1];
      const newest = new Set(revs.slice(-Math.max(1, retention.keep)));
      const removed: number[] = [];
      // Revisions are recorded in order, so their times rise with their numbers: once one is young
      // enough, every later one is too, and the rest need not be read for their age.
      let young = retention.maxAgeDays <= 0;
      for (const rev of revs) {
        if (rev === latest || pins.has(rev)) continue;
        let drop = !newest.has(rev);
        if (!drop && !young) {
          const at = Date.parse((await this.readRev(id, rev).catch(() => null))?.at ?? '');
          drop = Number.isFinite(at) && now - at > retention.maxAgeDays * DAY_MS;
          young = Number.isFinite(at) && !drop;
        }
        if (!drop) continue;
        try {
          await unlink(join(this.instanceDir(id), revisionFileName(rev)));
          removed.push(rev);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      }
      return { removed, kept: revs.length - removed.length };
    });
  }

  /** The instance ids that have a revision folder here. */
  async instanceIds(): Promise<string[]> {
    try {
      return (await readdir(this.dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => decodeURIComponent(e.name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async get(id: string, rev: number): Promise<Revision> {
    if (!Number.isSafeInteger(rev) || rev < 1) {
      throw chsError('CHS_ERR_REVISION_NOT_FOUND', `instance "${id}" has no revision ${rev} (revisions are numbered from 1)`);
    }
    try {
      return await this.readRev(id, rev);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      const revs = await this.revNumbers(id);
      const have = revs.length === 0 ? 'it has no revisions' : `it has ${revs[0]}..${revs[revs.length - 1]}`;
      throw chsError('CHS_ERR_REVISION_NOT_FOUND', `instance "${id}" has no revision ${rev} (${have})`);
    }
  }

  /** The newest revision of `id`, or undefined if none was recorded. */
  async latest(id: string): Promise<Revision | undefined> {
    const revs = await this.revNumbers(id);
    const last = revs[revs.length - 1];
    return last === undefined ? undefined : this.readRev(id, last);
  }
}
