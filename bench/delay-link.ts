// A network link with latency, for benchmarks on a machine where tc netem is not available: a
// loopback TCP forwarder that holds every chunk DELAY_MS (each way) before passing it on, in order.
// Bandwidth is not limited, only the round trip lengthened (2 x DELAY_MS plus Node's timer slack,
// about 1 ms). Reading pauses while more than MAX_QUEUED bytes wait in one direction.
// Usage: node --import tsx bench/delay-link.ts PORT TARGET_PORT DELAY_MS   (prints "READY <port>")
import net from 'node:net';

const [port = '0', target = '', delay = '1'] = process.argv.slice(2);
const DELAY_MS = Number(delay);
const MAX_QUEUED = 8 << 20;

/** Carries `from`'s bytes to `to` DELAY_MS later. */
function carry(from: net.Socket, to: net.Socket): void {
  const queue: Array<{ due: number; chunk: Buffer }> = [];
  let queued = 0;
  let timer: NodeJS.Timeout | undefined;
  const pump = (): void => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { chunk } = queue.shift()!;
      queued -= chunk.length;
      to.write(chunk);
    }
    if (queued < MAX_QUEUED && from.isPaused()) from.resume();
    if (queue.length > 0) timer = setTimeout(pump, Math.max(0, queue[0]!.due - now));
  };
  from.on('data', (chunk) => {
    queue.push({ due: performance.now() + DELAY_MS, chunk });
    queued += chunk.length;
    if (queued >= MAX_QUEUED) from.pause();
    timer ??= setTimeout(pump, DELAY_MS);
  });
  from.on('end', () => {
    const finish = (): void => { if (queue.length === 0) to.end(); else setTimeout(finish, DELAY_MS); };
    finish();
  });
  from.on('close', () => { if (timer) clearTimeout(timer); });
}

const server = net.createServer((inbound) => {
  const outbound = net.connect(Number(target), '127.0.0.1');
  inbound.setNoDelay(true);
  outbound.setNoDelay(true);
  carry(inbound, outbound);
  carry(outbound, inbound);
  const close = (): void => { inbound.destroy(); outbound.destroy(); };
  inbound.on('error', close);
  outbound.on('error', close);
  inbound.on('close', close);
  outbound.on('close', close);
});
server.listen(Number(port), '127.0.0.1', () => {
  const addr = server.address() as net.AddressInfo;
  console.log(`READY ${addr.port}`);
});
const stop = (): void => { server.close(); process.exit(0); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
