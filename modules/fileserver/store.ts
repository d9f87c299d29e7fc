// The content store: immutable files named by their sha256 under `<dir>/objects/<aa>/<sha>`, with
// precompressed codings beside them (`<sha>.br`, `<sha>.gz`), `tmp/` for uploads in progress
// (emptied at start), and `versions/<name>.json` manifests (path -> sha256) behind
// `/static/<version>/<path>`. Objects up to `memoryMaxFileBytes` are kept in memory once served
// (LRU within `memoryBudgetBytes`); bigger ones are streamed from cached descriptors.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { compressBoth } from './compress.ts';
import { commitRename, writeDurable } from './durable.ts';
import { makeEntry, type Entry, type VariantSource } from './entry.ts';
import { FdCache } from './fds.ts';
import { SHA256_RE, VERSION_RE, checkName } from './paths.ts';

export interface StoreOptions {
  dir: string;
  memoryMaxFileBytes: number;
  memoryBudgetBytes: number;
  openFilesMax: number;
  compressMaxBytes: number;
  log: Logger;
}

interface Part { size: number; path: string; body: Buffer | undefined }

export interface StoredObject {
  sha: string;
  size: number;
  identity: Part;
  br: Part | undefined;
  gzip: Part | undefined;
  memory: number;
  /** Entries by `type\ncache-control`. */
  entries: Map<string, Entry>;
}

export interface PutResult { sha256: string; size: number; codings: string[]; existed: boolean }

const MAX_OBJECTS = 100_000;

export class Store {
  readonly dir: string;
  readonly tmpDir: string;
  private readonly objectsDir: string;
  private readonly versionsDir: string;
  private readonly objects = new Map<string, StoredObject>();
  private readonly opening = new Map<string, Promise<StoredObject | null>>();
  private memory = 0;
  readonly fds: FdCache;
  readonly versions = new Map<string, Map<string, string>>();
  /** Called when cached objects were dropped (so route caches holding their entries are cleared). */
  onEvict: () => void = () => undefined;

  constructor(private readonly opts: StoreOptions) {
    this.dir = opts.dir;
    this.tmpDir = join(opts.dir, 'tmp');
    this.objectsDir = join(opts.dir, 'objects');
    this.versionsDir = join(opts.dir, 'versions');
    this.fds = new FdCache(opts.openFilesMax);
  }

  /** Creates the layout, removes leftover temp files (on a fresh start), loads the version manifests. */
  async init(cleanTmp: boolean): Promise<void> {
    await mkdir(this.objectsDir, { recursive: true });
    await mkdir(this.versionsDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    if (cleanTmp) for (const name of await readdir(this.tmpDir)) await rm(join(this.tmpDir, name), { force: true, recursive: true });
    for (const name of await readdir(this.versionsDir)) {
      if (!name.endsWith('.json')) continue;
      const version = name.slice(0, -5);
      try {
        const files = JSON.parse(await readFile(join(this.versionsDir, name), 'utf8')) as Record<string, string>;
        this.versions.set(version, new Map(Object.entries(files)));
      } catch (err) {
        this.opts.log.warn({ err }, `version manifest ${name} unreadable; skipped`);
      }
    }
  }

  objectPath(sha: string, suffix = ''): string {
    return join(this.objectsDir, sha.slice(0, 2), sha + suffix);
  }

  /** The cached object, if it is loaded (sync, for the fast lane). */
  peek(sha: string): StoredObject | undefined {
    const o = this.objects.get(sha);
    if (o) { this.objects.delete(sha); this.objects.set(sha, o); }
    return o;
  }

  /** The object (cached after the first call), or null when the store does not hold it. */
  open(sha: string): Promise<StoredObject | null> {
    const o = this.peek(sha);
    if (o) return Promise.resolve(o);
    let p = this.opening.get(sha);
    if (!p) {
      p = this.load(sha).finally(() => this.opening.delete(sha));
      this.opening.set(sha, p);
    }
    return p;
  }

  private async load(sha: string): Promise<StoredObject | null> {
    if (!SHA256_RE.test(sha)) return null;
    const part = async (suffix: string): Promise<Part | undefined> => {
      const path = this.objectPath(sha, suffix);
      try {
        const st = await stat(path);
        return st.isFile() ? { size: st.size, path, body: undefined } : undefined;
      } catch {
        return undefined;
      }
    };
    const [identity, br, gzip] = await Promise.all([part(''), part('.br'), part('.gz')]);
    if (!identity) return null;
    const obj: StoredObject = { sha, size: identity.size, identity, br, gzip, memory: 0, entries: new Map() };
    if (identity.size <= this.opts.memoryMaxFileBytes) {
      const total = identity.size + (br?.size ?? 0) + (gzip?.size ?? 0);
      if (total <= this.opts.memoryBudgetBytes) {
        this.makeRoom(total);
        for (const p of [identity, br, gzip]) if (p) p.body = await readFile(p.path);
        obj.memory = total;
        this.memory += total;
      }
    }
    this.objects.set(sha, obj);
    if (this.objects.size > MAX_OBJECTS) this.evictOldest();
    return obj;
  }

  private makeRoom(bytes: number): void {
    let evicted = false;
    for (const [sha, o] of this.objects) {
      if (this.memory + bytes <= this.opts.memoryBudgetBytes) break;
      if (o.memory === 0) continue;
      this.objects.delete(sha);
      this.memory -= o.memory;
      evicted = true;
    }
    if (evicted) this.onEvict();
  }

  private evictOldest(): void {
    const first = this.objects.entries().next();
    if (first.done) return;
    const [sha, o] = first.value;
    this.objects.delete(sha);
    this.memory -= o.memory;
    this.onEvict();
  }

  /** The entry serving `obj` as `type` with `cacheControl` (built once per combination). */
  entry(obj: StoredObject, type: string, cacheControl: string): Entry {
    const key = `${type}\n${cacheControl}`;
    let e = obj.entries.get(key);
    if (!e) {
      const src = (p: Part | undefined): VariantSource | undefined =>
        p && (p.body ? { size: p.size, body: p.body } : { size: p.size, file: this.fds.ref(p.path) });
      e = makeEntry({ sha: obj.sha, type, cacheControl, identity: src(obj.identity)!, br: src(obj.br), gzip: src(obj.gzip) });
      obj.entries.set(key, e);
    }
    return e;
  }

  /** Whether the store holds `sha`. */
  async has(sha: string): Promise<boolean> {
    if (!SHA256_RE.test(sha)) return false;
    if (this.objects.has(sha)) return true;
    try { return (await stat(this.objectPath(sha))).isFile(); } catch { return false; }
  }

  /** Stores `data` (durably), with codings when `compress`; returns its sha256. */
  async putBuffer(data: Buffer, compress: boolean): Promise<PutResult> {
    const sha = createHash('sha256').update(data).digest('hex');
    const target = this.objectPath(sha);
    const existed = await this.has(sha);
    if (!existed) {
      await mkdir(join(this.objectsDir, sha.slice(0, 2)), { recursive: true });
      await writeDurable(this.tmpDir, target, data);
    }
    const codings = compress ? await this.addCodings(sha, data) : await this.codingsOf(sha);
    return { sha256: sha, size: data.length, codings, existed };
  }

  /**
   * Moves a complete, fsynced temp file (whose sha256 the caller computed) into the store; when
   * the object is already there the temp file is removed instead. Adds codings when asked.
   */
  async commitFile(tmp: string, sha: string, size: number, compress: boolean): Promise<PutResult> {
    const existed = await this.has(sha);
    if (existed) await rm(tmp, { force: true });
    else {
      await mkdir(join(this.objectsDir, sha.slice(0, 2)), { recursive: true });
      await commitRename(tmp, this.objectPath(sha));
    }
    let codings: string[] = [];
    if (compress && size <= this.opts.compressMaxBytes) codings = await this.addCodings(sha, await readFile(this.objectPath(sha)));
    else codings = await this.codingsOf(sha);
    return { sha256: sha, size, codings, existed };
  }

  private async addCodings(sha: string, data: Buffer): Promise<string[]> {
    const have = await this.codingsOf(sha);
    if (have.length > 0 || data.length > this.opts.compressMaxBytes) return have;
    const c = await compressBoth(data);
    const out: string[] = [];
    if (c.br) { await writeDurable(this.tmpDir, this.objectPath(sha, '.br'), c.br); out.push('br'); }
    if (c.gzip) { await writeDurable(this.tmpDir, this.objectPath(sha, '.gz'), c.gzip); out.push('gzip'); }
    // a cached object loaded before its codings existed is reloaded on next use
    const o = this.objects.get(sha);
    if (o && out.length) { this.objects.delete(sha); this.memory -= o.memory; this.onEvict(); }
    return out;
  }

  private async codingsOf(sha: string): Promise<string[]> {
    const out: string[] = [];
    for (const [suffix, name] of [['.br', 'br'], ['.gz', 'gzip']] as const) {
      try { await stat(this.objectPath(sha, suffix)); out.push(name); } catch { /* none */ }
    }
    return out;
  }

  /** Records (durably) the manifest of `version`: path -> sha256; every object must be present. */
  async publish(version: string, files: Record<string, string>): Promise<void> {
    if (!VERSION_RE.test(version) || SHA256_RE.test(version)) throw new Error(`bad version name ${JSON.stringify(version)}`);
    const clean: Record<string, string> = {};
    for (const [path, sha] of Object.entries(files)) {
      const name = checkName(path);
      if (!name) throw new Error(`bad path ${JSON.stringify(path)} in version ${version}`);
      if (!SHA256_RE.test(sha)) throw new Error(`bad sha256 ${JSON.stringify(sha)} for ${path}`);
      if (!(await this.has(sha))) throw new Error(`the store has no object ${sha} (for ${path})`);
      clean[name] = sha;
    }
    await writeDurable(this.tmpDir, join(this.versionsDir, `${version}.json`), JSON.stringify(clean, null, 2) + '\n');
    this.versions.set(version, new Map(Object.entries(clean)));
  }

  async unpublish(version: string): Promise<boolean> {
    if (!this.versions.delete(version)) return false;
    await rm(join(this.versionsDir, `${version}.json`), { force: true });
    return true;
  }

  stats(): { objectsCached: number; memoryBytes: number; openFiles: number; versions: number } {
    return { objectsCached: this.objects.size, memoryBytes: this.memory, openFiles: this.fds.size, versions: this.versions.size };
  }

  close(): void {
    this.fds.closeAll();
    this.objects.clear();
    this.memory = 0;
  }
}
