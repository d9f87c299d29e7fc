// Imported first by every DHT test: records the destination of every UDP datagram this process
// sends (dgram's Socket.prototype.send, under the DHT's own guard) and lets a test assert that
// none ever left loopback. Host names are recorded too (dgram would resolve them).
import dgram from 'node:dgram';

export const destinations: string[] = [];
export const nonLoopback: string[] = [];

const original = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
  const offsetForm = typeof args[1] === 'number' && typeof args[2] === 'number' && args.length >= 5;
  const address = String(offsetForm ? args[4] : args[2]);
  const port = String(offsetForm ? args[3] : args[1]);
  const where = `${address}:${port}`;
  if (destinations.length < 100_000) destinations.push(where);
  if (!/^127\./.test(address) && address !== '::1') nonLoopback.push(where);
  return (original as (...a: unknown[]) => void).apply(this, args);
} as typeof dgram.Socket.prototype.send;

/** Throws if any datagram went to a non-loopback address. */
export function assertLoopbackOnly(): void {
  if (nonLoopback.length) throw new Error(`datagrams left loopback: ${[...new Set(nonLoopback)].slice(0, 10).join(', ')}`);
}
