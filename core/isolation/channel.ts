// The isolate's end of its one channel to the host, whatever carries it: the MessagePort of a
// worker thread, or the IPC pipe of a child process (forked with `serialization: 'advanced'`, so
// both carry the same structured clones). The runtime (worker-main.ts) is written against this
// and nothing else. In a child process a message may come with a handle (an accepted socket).
import type { MessagePort } from 'node:worker_threads';
import type { HostMsg, WorkerMsg } from './protocol.ts';

export interface RuntimeChannel {
  readonly kind: 'worker' | 'process';
  post(m: WorkerMsg): void;
  onMessage(fn: (m: HostMsg, handle?: unknown) => void): void;
  /** Sends `last` (if any), then ends the isolate with `code`. */
  exit(code: number, last?: WorkerMsg): void;
}

export function portChannel(port: MessagePort): RuntimeChannel {
  return {
    kind: 'worker',
    post: (m) => port.postMessage(m),
    onMessage: (fn) => { port.on('message', (m: HostMsg) => fn(m)); },
    exit(code, last) {
      if (last) port.postMessage(last);
      process.exit(code);
    },
  };
}

export function processChannel(proc: NodeJS.Process): RuntimeChannel {
  const send = proc.send!.bind(proc) as (m: unknown, cb?: (err: Error | null) => void) => boolean;
  return {
    kind: 'process',
    post: (m) => {
      if (proc.connected) send(m);
    },
    onMessage: (fn) => { proc.on('message', (m: HostMsg, handle?: unknown) => fn(m, handle)); },
    exit(code, last) {
      if (!last || !proc.connected) return proc.exit(code);
      // The message must leave before the process does; give it a moment at most.
      const t = setTimeout(() => proc.exit(code), 500);
      send(last, () => { clearTimeout(t); proc.exit(code); });
    },
  };
}
