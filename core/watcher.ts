// Watches module folders and config files with chokidar and turns bursts of events into one
// call per key: events for a key are coalesced for `debounceMs`; while a call for that key runs,
// newer events mark it pending and one more call follows (a newer change supersedes the pending
// one; at most one runs at a time per key).
//
// chokidar drops a file's `change` events for 50 ms after the previous one (a leading-edge
// throttle with no trailing event), so a second save shortly after a first could go unseen.
// Each key therefore gets a settle check: a while after its last event, the files' fingerprint
// (mtime, size, inode) is compared with the one taken when the last call began.
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import chokidar, { type FSWatcher } from 'chokidar';

export interface WatchTarget {
  /** Key for coalescing (a module folder, or a config file). */
  key: string;
  /** Absolute path watched. */
  path: string;
  /** Whether a changed file (absolute path) under `path` matters. */
  accepts(file: string): boolean;
}

/** Longer than chokidar's 50 ms change throttle. */
const SETTLE_MS = 80;

export class Watcher {
  private readonly fsw: FSWatcher;
  private targets: WatchTarget[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly pending = new Set<string>();
  private readonly settleTimers = new Map<string, NodeJS.Timeout>();
  /** Fingerprint of a key's files when its last call began. */
  private readonly seen = new Map<string, string>();
  private closed = false;
  readonly ready: Promise<void>;

  constructor(
    private readonly onChange: (key: string, since: number) => Promise<void>,
    private readonly debounceMs: number,
  ) {
    this.fsw = chokidar.watch([], {
      ignoreInitial: true,
      ignored: (p: string) => p.split(sep).some((part) => part === 'node_modules' || part === '.git' || part === '.cheshire'),
    });
    this.ready = new Promise((r) => this.fsw.once('ready', () => r()));
    for (const ev of ['add', 'change', 'unlink'] as const) this.fsw.on(ev, (p: string) => this.event(resolve(p)));
  }

  setTargets(targets: WatchTarget[]): void {
    const old = new Set(this.targets.map((t) => t.path));
    const next = new Set(targets.map((t) => t.path));
    this.targets = targets;
    const added = [...next].filter((p) => !old.has(p));
    const removed = [...old].filter((p) => !next.has(p));
    if (added.length) this.fsw.add(added);
    if (removed.length) this.fsw.unwatch(removed);
  }

  private event(file: string): void {
    if (this.closed) return;
    for (const t of this.targets) {
      const inside = file === t.path || file.startsWith(t.path + sep);
      if (!inside || !t.accepts(file)) continue;
      this.schedule(t.key);
      this.settleLater(t.key);
    }
  }

  private settleLater(key: string): void {
    clearTimeout(this.settleTimers.get(key));
    this.settleTimers.set(key, setTimeout(() => {
      this.settleTimers.delete(key);
      if (this.closed || this.timers.has(key) || this.running.has(key)) return this.settleLater(key);
      if (this.fingerprint(key) !== this.seen.get(key)) this.schedule(key);
    }, SETTLE_MS));
  }

  /** mtime/size/inode of every accepted file of a key's targets. */
  fingerprint(key: string): string {
    const parts: string[] = [];
    const visit = (t: WatchTarget, path: string) => {
      let st;
      try { st = statSync(path); } catch { return; }
      if (st.isDirectory()) {
        for (const name of readdirSync(path).sort()) {
          if (name !== 'node_modules' && !name.startsWith('.')) visit(t, join(path, name));
        }
      } else if (path === t.path || t.accepts(path)) parts.push(`${path}:${st.mtimeMs}:${st.size}:${st.ino}`);
    };
    for (const t of this.targets) if (t.key === key) visit(t, t.path);
    return parts.join('|');
  }

  /** Coalesces calls for `key` (also used to force one, e.g. `reload M`). */
  schedule(key: string): void {
    const since = performance.now();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); this.fire(key, since); }, this.debounceMs));
  }

  private fire(key: string, since: number): void {
    if (this.closed) return;
    if (this.running.has(key)) {
      this.pending.add(key);
      return;
    }
    this.seen.set(key, this.fingerprint(key));
    const p = this.onChange(key, since)
      .catch(() => undefined)
      .finally(() => {
        this.running.delete(key);
        if (this.pending.delete(key)) this.fire(key, performance.now());
      });
    this.running.set(key, p);
  }

  /**
   * Runs `fn` as if it were a call for `key` (after the one in progress, if any): changes it
   * makes to the key's files coalesce into one call afterwards instead of firing mid-way. A
   * rollback writes a module's files one by one this way, never reloading a half-written set.
   */
  async hold<T>(key: string, fn: () => Promise<T>): Promise<T> {
    while (this.running.has(key)) await this.running.get(key);
    const p = fn();
    const done = p.then(() => undefined, () => undefined).finally(() => {
      this.running.delete(key);
      if (this.pending.delete(key)) this.fire(key, performance.now());
    });
    this.running.set(key, done);
    return p;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of [...this.timers.values(), ...this.settleTimers.values()]) clearTimeout(t);
    this.timers.clear();
    this.settleTimers.clear();
    await this.fsw.close();
    await Promise.allSettled([...this.running.values()]);
  }
}

export function relativeTo(dir: string, file: string): string {
  return relative(dir, file).split(sep).join('/');
}
