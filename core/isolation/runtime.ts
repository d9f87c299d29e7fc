// What the isolate's own SDK (./sdk.ts, bundled into the runtime) reaches of the running
// incarnation: its boot data, its RPC to the host and the listeners serveHttp registered.
// Set once by worker-main.ts; one incarnation per isolate, so one runtime.
import { chsError } from '../errors.ts';
import type { RuntimeChannel } from './channel.ts';
import type { Boot } from './protocol.ts';
import type { Rpc } from './rpc.ts';

export interface Runtime {
  boot: Boot;
  channel: RuntimeChannel;
  rpc: Rpc;
  /** listener key -> where the host's accepted connections for it go (a net.Socket or a relay Duplex). */
  listeners: Map<string, (socket: import('node:stream').Duplex) => void>;
}

let current: Runtime | null = null;

export function setRuntime(rt: Runtime): void {
  current = rt;
}

export function runtime(): Runtime {
  if (!current) throw chsError('CHS_ERR_ISOLATION_UNSUPPORTED', 'the isolated SDK runs only inside an isolated module');
  return current;
}
