// HOST:PORT as modules write it in config ("127.0.0.1:6666", "[::1]:6666") and as they show a
// listening address back.
import type { AddressInfo } from 'node:net';

/** "host:port" or "[v6]:port" -> { host, port }; a malformed one is a TypeError naming it. */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[?([^\]\s]*?)\]?:(\d{1,5})$/.exec(text.trim());
  if (!m || !m[1] || Number(m[2]) > 65535) throw new TypeError(`"${text}" is not HOST:PORT`);
  return { host: m[1], port: Number(m[2]) };
}

/** A listening socket's address as HOST:PORT ([v6]:PORT for IPv6). */
export function formatAddress(a: Pick<AddressInfo, 'address' | 'port' | 'family'>): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
