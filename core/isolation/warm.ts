// A spare warms its HTTP path while it waits: one request through an http.Server over a relayed
// connection (./relay.ts) inside the isolate, so the code the first real request runs (the
// parser, the server's request and response paths, the relay) is compiled before an incarnation
// takes the spare, not while a client waits. Nothing leaves the isolate; a failure is ignored.
import http from 'node:http';
import { MessageChannel } from 'node:worker_threads';
import { RelayedSocket } from './relay.ts';

const REQUEST = 'GET /warm HTTP/1.1\r\nHost: spare\r\nConnection: keep-alive\r\n\r\n';

export async function warmHttp(timeoutMs = 2_000): Promise<void> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
  });
  const { port1, port2 } = new MessageChannel();
  const socket = new RelayedSocket(port2, { address: '127.0.0.1', port: 0, family: 'IPv4' });
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      let got = '';
      port1.on('message', (m: unknown) => {
        if (!(m instanceof Uint8Array)) return;
        got += Buffer.from(m).toString('latin1');
        if (got.endsWith('ok\n')) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.emit('connection', socket);
      port1.postMessage(new TextEncoder().encode(REQUEST));
    });
  } finally {
    socket.destroy();
    port1.close();
    server.close();
  }
}
