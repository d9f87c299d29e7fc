// Request header logic shared by the fast lane and the node:http path: content-coding choice
// (Accept-Encoding), If-None-Match against a content hash, and byte ranges.

export type Coding = 'br' | 'gzip' | 'identity';

/**
 * Picks br, then gzip, among the codings the entry has, by the client's Accept-Encoding
 * (q=0 refuses a coding; `*` covers the ones not named). Identity otherwise.
 */
export function chooseCoding(accept: string | undefined, hasBr: boolean, hasGzip: boolean): Coding {
  if (!accept || (!hasBr && !hasGzip)) return 'identity';
  let br = -1;
  let gzip = -1;
  let star = -1;
  for (const part of accept.split(',')) {
    const semi = part.indexOf(';');
    const name = (semi < 0 ? part : part.slice(0, semi)).trim().toLowerCase();
    let q = 1;
    if (semi >= 0) {
      const m = /q\s*=\s*([0-9.]+)/i.exec(part.slice(semi));
      if (m) q = Number(m[1]);
      if (!Number.isFinite(q)) q = 0;
    }
    if (name === 'br') br = q;
    else if (name === 'gzip' || name === 'x-gzip') gzip = q;
    else if (name === '*') star = q;
  }
  if (br < 0) br = star;
  if (gzip < 0) gzip = star;
  if (hasBr && br > 0 && (!hasGzip || br >= gzip)) return 'br';
  if (hasGzip && gzip > 0) return 'gzip';
  if (hasBr && br > 0) return 'br';
  return 'identity';
}

/**
 * Whether If-None-Match names this content. Weak comparison (RFC 9110 13.1.2): `W/` is ignored,
 * and so is our coding suffix (`"<sha>-br"`), since every coding carries the same content.
 */
export function noneMatch(header: string | undefined, sha: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  let at = header.indexOf(sha);
  while (at >= 0) {
    const before = header.charCodeAt(at - 1);
    const after = header.charCodeAt(at + sha.length);
    // "<sha>" or "<sha>-br" / "<sha>-gzip"
    if (before === 34 /* " */ && (after === 34 || after === 45 /* - */)) return true;
    at = header.indexOf(sha, at + 1);
  }
  return false;
}

export type RangeResult =
  | { kind: 'none' } // no Range (or one we ignore: not bytes, several ranges): send everything
  | { kind: 'range'; start: number; end: number } // inclusive
  | { kind: 'unsatisfiable' };

/** Parses a Range header for a representation of `size` bytes. Several ranges: answered whole. */
export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: 'none' };
  const specs = m[1]!.split(',').map((s) => s.trim()).filter(Boolean);
  if (specs.length !== 1) return { kind: 'none' };
  const r = /^(\d*)\s*-\s*(\d*)$/.exec(specs[0]!);
  if (!r || (r[1] === '' && r[2] === '')) return { kind: 'none' };
  if (r[1] === '') {
    const n = Number(r[2]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (r[2] !== '' && Number(r[2]) < start) return { kind: 'none' }; // invalid: ignore
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end };
}

/** If-Range: the range applies only when the validator is our strong identity ETag. */
export function ifRangeHolds(header: string | undefined, identityEtag: string): boolean {
  if (header === undefined) return true;
  return header.trim() === identityEtag;
}
