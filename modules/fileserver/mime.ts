// Content types by file extension, and which of them are worth compressing.
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8', htm: 'text/html; charset=utf-8', css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8', mjs: 'text/javascript; charset=utf-8', cjs: 'text/javascript; charset=utf-8',
  json: 'application/json; charset=utf-8', map: 'application/json; charset=utf-8',
  webmanifest: 'application/manifest+json; charset=utf-8',
  txt: 'text/plain; charset=utf-8', md: 'text/markdown; charset=utf-8', csv: 'text/csv; charset=utf-8',
  xml: 'application/xml; charset=utf-8', svg: 'image/svg+xml; charset=utf-8',
  wasm: 'application/wasm', pdf: 'application/pdf',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  avif: 'image/avif', ico: 'image/x-icon',
  woff: 'font/woff', woff2: 'font/woff2', ttf: 'font/ttf', otf: 'font/otf',
  mp4: 'video/mp4', webm: 'video/webm', mp3: 'audio/mpeg', ogg: 'audio/ogg', wav: 'audio/wav',
  zip: 'application/zip', gz: 'application/gzip', br: 'application/octet-stream',
};

export const DEFAULT_TYPE = 'application/octet-stream';

/** The Content-Type for a file name (by its last extension, case-insensitive). */
export function contentType(name: string): string {
  const slash = name.lastIndexOf('/');
  const dot = name.lastIndexOf('.');
  if (dot <= slash + 0 || dot === name.length - 1) return DEFAULT_TYPE;
  return TYPES[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_TYPE;
}

/** Text-like types compress well; images, fonts (but ttf/otf), media and archives do not. */
export function compressible(type: string): boolean {
  const t = type.split(';', 1)[0]!.trim().toLowerCase();
  return t.startsWith('text/') || t === 'application/json' || t === 'application/manifest+json' ||
    t === 'application/xml' || t === 'image/svg+xml' || t === 'application/wasm' || t === 'image/x-icon' ||
    t === 'font/ttf' || t === 'font/otf' || t.endsWith('+json') || t.endsWith('+xml');
}
