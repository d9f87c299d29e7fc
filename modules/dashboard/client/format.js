// Formatting helpers: durations, times, log levels, and where an error happened.

/** @param {number | null | undefined} ms */
export function duration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Like duration, to the minute past the first one: a table of a thousand uptimes changes once a minute. @param {number} ms */
export function coarseDuration(ms) {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 60_000) return duration(ms);
  const m = Math.floor(ms / 60_000);
  if (m < 60) return `${m}m`;
  return duration(m * 60_000);
}

/** @param {string | number} t */
export function clock(t) {
  const d = new Date(t);
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

/** @type {Record<number, string>} */
const LEVELS = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** @param {number} level */
export const levelName = (level) => LEVELS[level] ?? String(level);

export const LEVEL_CHOICES = [10, 20, 30, 40, 50];

/**
 * Where an error happened in a module's own file: the host's `where` when it knows it, else the
 * first `file:line[:col]` under a modules/ folder in the message or stack (never the host's own
 * frames, nor node_modules).
 * @param {{ where?: string | null, message: string, stack: string } | null | undefined} e
 */
export function errorWhere(e) {
  if (!e) return null;
  if (e.where) return e.where;
  const re = /((?:[A-Za-z]:)?[^\s():]+\.(?:ts|js|mjs|cjs|json)):(\d+)(?::(\d+))?/g;
  for (const text of [e.message, e.stack]) {
    for (const m of text.matchAll(re)) {
      if (/[\\/]modules[\\/]/.test(m[1]) && !m[1].includes('node_modules')) return `${m[1]}:${m[2]}${m[3] ? `:${m[3]}` : ''}`;
    }
  }
  return null;
}

/** @param {string} p a path, shown from the modules folder on */
export function shortPath(p) {
  const i = p.lastIndexOf('/modules/');
  return i >= 0 ? p.slice(i + 1) : p;
}

/** @param {string | null | undefined} hash */
export const shortHash = (hash) => (hash ? `#${hash.slice(0, 8)}` : '');

/** The message without the `CODE: ` the error's message starts with (the code is shown beside it). @param {{ code: string, message: string }} e */
export const messageOf = (e) => (e.message.startsWith(`${e.code}: `) ? e.message.slice(e.code.length + 2) : e.message);
