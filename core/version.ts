// The host's own version: the "version" of Cheshire's package.json, read once.
import { readFileSync } from 'node:fs';

export const CHESHIRE_VERSION: string = (() => {
  try {
    return String((JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown }).version ?? '0.0.0');
  } catch {
    return '0.0.0';
  }
})();
