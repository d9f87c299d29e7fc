// A spare warms its HTTP path while it waits: one request through an http.Server over the kind of
// connection its incarnation will be handed (a worker: a relayed connection, ./relay.ts; a child
// process: a real socket, here a loopback pair made inside the spare), so the code the first real
// request runs (the parser, the server's request and response paths, the socket or relay) is
// compiled before an incarnation takes the spare, not while a client waits. Nothing leaves the
// isolate (a process's pair is on 127.0.0.1, closed at once); a failure is ignored.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { MessageChannel } from 'node:worker_threads';
import { RelayedSocket } from './relay.ts';

const REQUEST = 'GET /warm HTTP/1.1\r\nHost: spare\r\nConnection: keep-alive\r\n\r\n';

/** The far end of a connection: where the request is written and the answer read. */
interface Far { write(b: Uint8Array): void; onData(fn: (b: Uint8Array) => void): void; close(): void }

/** A relayed connection (what a worker is handed). */
function relayed(): { socket: Duplex; far: Far } {
  const { port1, port2 } = new MessageChannel();
  const socket = new RelayedSocket(port2, { address: '127.0.0.1', port: 0, family: 'IPv4' });
  return {
    socket,
    far: {
      write: (b) => port1.postMessage(b),
      onData: (fn) => port1.on('message', (m: unknown) => { if (m instanceof Uint8Array) fn(m); }),
      close: () => port1.close(),
    },
  };
}

/** A loopback socket pair (what a child process is handed: a net.Socket). */
async function loopback(): Promise<{ socket: Duplex; far: Far }> {
  const listener = net.createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', resolve);
  });
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  client.on('error', () => {});
  const socket = await accepted;
  listener.close();
  return {
    socket,
    far: { write: (b) => client.write(b), onData: (fn) => client.on('data', fn), close: () => client.destroy() },
  };
}

export async function warmHttp(kind: 'worker' | 'process', timeoutMs = 2_000): Promise<void> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
  });
  const pair = kind === 'process' ? await loopback() : relayed();
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      let got = '';
      pair.far.onData((m) => {
        got += Buffer.from(m).toString('latin1');
        if (got.endsWith('ok\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.emit('connection', pair.socket);
      pair.far.write(new TextEncoder().encode(REQUEST));
    });
  } finally {
    pair.socket.destroy();
    pair.far.close();
    server.close();
  }
}
