// HOST:PORT parsing and name resolution for bootstrap entries (IPv4: the DHT's compact node
// format is IPv4 only).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { dhtError } from './errors.ts';

export interface Endpoint { host: string; port: number }

/** "host:port" or "[v6]:port" -> { host, port }; throws CHS_ERR_DHT_ARGUMENT. */
export function parseEndpoint(text: string): Endpoint {
  const m = /^\[?([^\]\s]*?)\]?:(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || !(port > 0 && port < 65536)) throw dhtError('CHS_ERR_DHT_ARGUMENT', `"${text}" is not HOST:PORT`);
  return { host: m[1], port };
}

export const formatEndpoint = (e: Endpoint): string => (e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`);

/** Resolves a host name to an IPv4 address (an IP literal is returned as is), within `timeoutMs`. */
export async function resolveEndpoint(e: Endpoint, timeoutMs = 3000): Promise<Endpoint> {
  if (isIP(e.host) === 4) return e;
  if (isIP(e.host) === 6) throw dhtError('CHS_ERR_DHT_ARGUMENT', `${formatEndpoint(e)}: the DHT speaks IPv4 only`);
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(e.host, { family: 4 }),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(dhtError('CHS_ERR_DHT_TIMEOUT', `resolving ${e.host} took more than ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    return { host: found.address, port: e.port };
  } finally {
    clearTimeout(timer);
  }
}

/** Validates an infohash / target given as 40 hex digits. */
export function parseInfohash(text: string, what: 'infohash' | 'target' = 'infohash'): Buffer {
  if (!/^[0-9a-fA-F]{40}$/.test(text)) throw dhtError('CHS_ERR_DHT_ARGUMENT', `"${text}" is not a 40-hex-digit ${what}`);
  return Buffer.from(text, 'hex');
}
