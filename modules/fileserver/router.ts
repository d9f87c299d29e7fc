// Which content a request target names. `/static/<sha256>/<name>` and
// `/static/<version>/<path>` are store objects (immutable caching); a Host listed in the
// virtual hosts maps its paths to store objects; anything else is an app asset under the
// assets prefix. Synchronous when everything needed is in memory (the fast lane relies on it),
// a promise when a store object must be loaded first.
import type { AssetSet } from './assets.ts';
import type { Entry } from './entry.ts';
import { DEFAULT_TYPE, contentType } from './mime.ts';
import { SHA256_RE, parsePath, splitTarget } from './paths.ts';
import type { Store } from './store.ts';

export const IMMUTABLE = 'public, max-age=31536000, immutable';

export interface Miss { status: number; message: string }
export type Resolved = Entry | Miss;

export function isMiss(r: Resolved): r is Miss {
  return (r as Miss).status !== undefined;
}

/** host -> (path key -> sha256) */
export type VhostTable = Map<string, Map<string, string>>;

export function vhostTable(cfg: Record<string, Record<string, string>>): VhostTable {
  const t: VhostTable = new Map();
  for (const [host, keys] of Object.entries(cfg)) t.set(host.toLowerCase(), new Map(Object.entries(keys)));
  return t;
}

export interface RouterState {
  store: Store;
  assets(): AssetSet | undefined;
  vhosts(): VhostTable;
  assetsPrefix: string[];
  vhostCacheControl: string;
}

const notFound: Miss = { status: 404, message: 'not found' };

export class Router {
  constructor(private readonly s: RouterState) {}

  resolve(host: string | undefined, target: string): Resolved | Promise<Resolved> {
    const { path } = splitTarget(target);
    const p = parsePath(path);
    if (!p.ok) return { status: 400, message: `bad path: ${p.reason}` };
    const segs = p.segments;
    if (segs[0] === 'static') return this.staticObject(segs);
    if (host) {
      const h = host.toLowerCase();
      const table = this.s.vhosts();
      const keys = table.get(h) ?? table.get(stripPort(h));
      if (keys) {
        let key = '/' + segs.join('/');
        if (p.trailingSlash && segs.length > 0) key += '/';
        let sha = keys.get(key);
        if (sha === undefined && key.endsWith('/')) { key += 'index.html'; sha = keys.get(key); }
        if (sha === undefined) return notFound;
        return this.object(sha, contentType(key), this.s.vhostCacheControl);
      }
    }
    const assets = this.s.assets();
    if (!assets) return notFound;
    const prefix = this.s.assetsPrefix;
    for (let i = 0; i < prefix.length; i++) if (segs[i] !== prefix[i]) return notFound;
    let rel = segs.slice(prefix.length).join('/');
    if (p.trailingSlash) rel = rel ? `${rel}/index.html` : 'index.html';
    return assets.files.get(rel) ?? notFound;
  }

  private staticObject(segs: string[]): Resolved | Promise<Resolved> {
    const id = segs[1];
    if (id === undefined) return notFound;
    const rest = segs.slice(2).join('/');
    if (SHA256_RE.test(id)) return this.object(id, rest ? contentType(rest) : DEFAULT_TYPE, IMMUTABLE);
    const manifest = this.s.store.versions.get(id);
    const sha = manifest?.get(rest);
    if (sha === undefined) return notFound;
    return this.object(sha, contentType(rest), IMMUTABLE);
  }

  private object(sha: string, type: string, cacheControl: string): Resolved | Promise<Resolved> {
    const store = this.s.store;
    const o = store.peek(sha);
    if (o) return store.entry(o, type, cacheControl);
    return store.open(sha).then((obj) => (obj ? store.entry(obj, type, cacheControl) : notFound));
  }
}

function stripPort(h: string): string {
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const c = h.lastIndexOf(':');
  return c < 0 ? h : h.slice(0, c);
}
