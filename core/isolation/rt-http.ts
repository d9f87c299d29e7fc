// serveHttp inside an isolated module (the isolate's cheshire/sdk). The listening socket is not
// the isolate's: the host owns it for the instance and keeps it across incarnations, accepting
// connections and passing each to the current incarnation (a child process gets the socket, a
// worker thread a relay of its bytes); while one incarnation stops and the next starts, the host
// queues what it accepts. So a reload refuses nothing. Here: an http.Server that never listens,
// fed the connections the host passes; at stop it finishes the requests it has, then lets go.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ModuleContext } from '../types.ts';
import type { Handler } from '../sdk/http.ts';
import { runtime } from './runtime.ts';

export type { Handler };

export async function serveHttp(ctx: ModuleContext<any>, host: string, port: number, handler: Handler, key = 'http', options: http.ServerOptions = {}): Promise<http.Server> {
  const rt = runtime();
  if (rt.listeners.has(key)) throw new Error(`${ctx.id}: serveHttp("${key}") called twice`);
  const server = http.createServer(options);
  const open = new Set<Duplex>();
  // Connections with a request under way (a server that never listens does not track its
  // connections, so its closeIdleConnections() does not see them: idle ones are found here).
  const busy = new Map<Duplex, number>();
  /** Connections that were answered at least once (a new one is not idle: its request is coming). */
  const served = new WeakSet<Duplex>();
  let stopping = false;
  /** Resolves the stop once no connection is left (set while stopping). */
  let drained: (() => void) | null = null;
  const closeIdle = () => {
    // What is still buffered for the client is flushed first (an idle socket has nothing left).
    for (const s of open) if (served.has(s) && !busy.has(s)) s.writableLength ? s.end() : s.destroy();
  };
  /** While stopping: lets go of what became idle; the stop completes with the last connection. */
  const settle = () => {
    if (!stopping) return;
    closeIdle();
    if (open.size === 0) drained?.();
  };
  server.on('connection', (s: Duplex) => {
    open.add(s);
    s.once('close', () => {
      open.delete(s);
      settle();
    });
  });
  server.on('request', (req, res) => {
    const s = req.socket as Duplex;
    busy.set(s, (busy.get(s) ?? 0) + 1);
    res.once('close', () => {
      served.add(s);
      const n = (busy.get(s) ?? 1) - 1;
      if (n > 0) busy.set(s, n);
      else busy.delete(s);
      settle();
    });
    // A request on a connection that outlives this incarnation would be cut: close it after.
    if (stopping) res.shouldKeepAlive = false;
    Promise.resolve(handler(req, res)).catch((err: unknown) => {
      ctx.log.error({ err }, `request ${req.method} ${req.url} failed`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  rt.listeners.set(key, (s) => server.emit('connection', s));
  let addr: AddressInfo;
  const held = rt.boot.listening?.[key];
  const asked = rt.rpc.call('listen', `serveHttp("${key}")`, 'listen', [key, host, port]);
  if (held && held.host === host && (port === 0 || port === held.port)) {
    // The host already holds this listener (handed over from the previous incarnation): its
    // address is known, so the start goes on without waiting for the answer; connections reach
    // this server once the host has the request. A refusal then is a crash of this incarnation.
    addr = { address: held.address, port: held.port, family: held.family };
    asked.catch((err: unknown) => queueMicrotask(() => { throw err; }));
  } else {
    try {
      addr = (await asked) as AddressInfo;
    } catch (err) {
      rt.listeners.delete(key);
      throw err;
    }
  }
  // Callers read the port the host listens on (port 0 picks one) as they would in-process.
  Object.defineProperty(server, 'address', { value: () => addr, configurable: true });
  Object.defineProperty(server, 'listening', { get: () => !stopping, configurable: true });
  ctx.onStop(function closeHttp() {
    stopping = true;
    rt.listeners.delete(key);
    closeIdle();
    if (open.size === 0) return;
    // The requests under way are answered (with Connection: close); each connection then ends,
    // and the last one to close completes the stop (the teardown's budget bounds the wait).
    return new Promise<void>((resolve) => {
      drained = resolve;
      settle();
    });
  });
  return server;
}

/** The server of serveHttp in an isolate never listens: closing it is what its stop does. */
export function closeServer(server: http.Server): Promise<void> {
  server.closeIdleConnections();
  return Promise.resolve();
}
