// Structural diff of two JSON values, addressed by JSON pointers (RFC 6901), for showing what
// a config change or a revert does: `~ /port: 8080 -> 8081`, `+ /tls: true`, `- /host: "a"`.

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface JsonChange {
  /** JSON pointer of the changed value: '' is the whole document, '/a/b/0' a nested one. */
  path: string;
  before?: unknown;
  after?: unknown;
  kind: ChangeKind;
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One JSON pointer reference token: '~' -> '~0', '/' -> '~1'. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** A key counts as present only if its value would survive JSON.stringify (undefined does not). */
const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;

/** Deep equality under JSON semantics (key order ignored, undefined-valued keys absent). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a).filter((k) => has(a, k));
    const kb = Object.keys(b).filter((k) => has(b, k));
    if (ka.length !== kb.length) return false;
    for (const k of ka) if (!has(b, k) || !jsonEqual(a[k], b[k])) return false;
    return true;
  }
  return false;
}

/**
 * Changes that turn `before` into `after`. Objects are compared key by key (keys of `before`
 * first, in their order, then keys only `after` has); arrays index by index, so a longer or
 * shorter array shows up as added / removed tail elements. A value whose type changes (object
 * to array, object to number, ...) is one 'changed' entry carrying both whole values.
 */
export function diffJson(before: unknown, after: unknown): JsonChange[] {
  const out: JsonChange[] = [];
  walk(before, after, '', out);
  return out;
}

function walk(before: unknown, after: unknown, path: string, out: JsonChange[]): void {
  if (Array.isArray(before) && Array.isArray(after)) {
    const n = Math.max(before.length, after.length);
    for (let i = 0; i < n; i++) {
      const p = `${path}/${i}`;
      if (i >= after.length) out.push({ path: p, before: before[i], kind: 'removed' });
      else if (i >= before.length) out.push({ path: p, after: after[i], kind: 'added' });
      else walk(before[i], after[i], p, out);
    }
    return;
  }
  if (isObject(before) && isObject(after)) {
    for (const k of Object.keys(before)) {
      if (!has(before, k)) continue;
      const p = `${path}/${escapePointerToken(k)}`;
      if (!has(after, k)) out.push({ path: p, before: before[k], kind: 'removed' });
      else walk(before[k], after[k], p, out);
    }
    for (const k of Object.keys(after)) {
      if (has(after, k) && !has(before, k)) {
        out.push({ path: `${path}/${escapePointerToken(k)}`, after: after[k], kind: 'added' });
      }
    }
    return;
  }
  if (before === undefined && after === undefined) return;
  if (before === undefined) { out.push({ path, after, kind: 'added' }); return; }
  if (after === undefined) { out.push({ path, before, kind: 'removed' }); return; }
  if (!jsonEqual(before, after)) out.push({ path, before, after, kind: 'changed' });
}

export interface FormatDiffOptions {
  /** Longer rendered values are cut with '…'. Default 200; 0 or Infinity for no limit. */
  maxValueLength?: number;
}

function show(v: unknown, max: number): string {
  let s: string;
  try {
    s = v === undefined ? 'undefined' : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v); // cyclic or BigInt: not JSON, but still say something
  }
  return max > 0 && s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** One line per change: `~ /port: 8080 -> 8081`, `+ /x: true`, `- /y: "a"`; '' if none. */
export function formatDiff(changes: readonly JsonChange[], opts: FormatDiffOptions = {}): string {
  const max = opts.maxValueLength ?? 200;
  return changes
    .map((c) => {
      const at = c.path === '' ? '(root)' : c.path;
      switch (c.kind) {
        case 'added': return `+ ${at}: ${show(c.after, max)}`;
        case 'removed': return `- ${at}: ${show(c.before, max)}`;
        case 'changed': return `~ ${at}: ${show(c.before, max)} -> ${show(c.after, max)}`;
      }
    })
    .join('\n');
}
