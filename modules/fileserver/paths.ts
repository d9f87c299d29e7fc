// URL path checking. Every lookup the fileserver makes is an exact key in a map (assets,
// manifests, vhosts) or a sha256 hex name, so no URL text ever becomes a file-system path; this
// refuses the usual traversal shapes anyway, so they get a clear 400 rather than a 404:
// `..` and `.` segments (raw or %2e-encoded), encoded slashes, backslashes (raw or %5c), NUL
// and other control characters, empty segments (`//x`, which some joiners read as absolute),
// bad percent-encoding, and targets that are not origin-form (`http://...`, `*`).

export type PathResult = { ok: true; segments: string[]; trailingSlash: boolean } | { ok: false; reason: string };

// eslint-disable-next-line no-control-regex
const BAD_CHARS = /[\u0000-\u001f\u007f\\]/;

/** Splits the path part of a request target (no query) into decoded, checked segments. */
export function parsePath(path: string): PathResult {
  if (path.length === 0 || path.charCodeAt(0) !== 47 /* / */) return { ok: false, reason: 'target must start with /' };
  if (path.length > 4096) return { ok: false, reason: 'path too long' };
  if (path === '/') return { ok: true, segments: [], trailingSlash: true };
  const raw = path.slice(1).split('/');
  const trailingSlash = raw[raw.length - 1] === '';
  if (trailingSlash) raw.pop();
  const segments: string[] = [];
  for (const r of raw) {
    if (r === '') return { ok: false, reason: 'empty path segment' };
    let s = r;
    if (r.includes('%')) {
      try { s = decodeURIComponent(r); } catch { return { ok: false, reason: 'bad percent-encoding' }; }
    }
    if (s === '.' || s === '..') return { ok: false, reason: 'dot segment' };
    if (s.includes('/')) return { ok: false, reason: 'encoded slash' };
    if (BAD_CHARS.test(s)) return { ok: false, reason: 'backslash or control character' };
    segments.push(s);
  }
  return { ok: true, segments, trailingSlash };
}

/** Splits a request target into path and query (the query is kept raw). */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** A relative name (`dir/app.js`) checked like a URL path; undefined when it is not acceptable. */
export function checkName(name: string): string | undefined {
  const r = parsePath('/' + name);
  if (!r.ok || r.segments.length === 0 || r.trailingSlash) return undefined;
  return r.segments.join('/');
}

export const SHA256_RE = /^[0-9a-f]{64}$/;
export const VERSION_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The Host header without port, lowercased; '' when absent. */
export function hostKey(host: string | undefined): string {
  if (!host) return '';
  return host.trim().toLowerCase();
}
