// The listening socket of an isolated module's serveHttp, owned by the host for the instance and
// handed from incarnation to incarnation (as an in-process serveHttp hands its server): it accepts
// with pauseOnConnect and passes each connection to the incarnation attached now; between two
// incarnations (a reload, a restart after a crash) it queues them, so none is refused. The queue
// is bounded in count and in time: a connection nobody takes within QUEUE_MS is closed.
import net, { type AddressInfo, type Socket } from 'node:net';

const MAX_QUEUE = 1024;
const QUEUE_MS = 30_000;

export class SharedListener {
  private sink: ((s: Socket) => void) | null = null;
  private readonly queue: Array<{ socket: Socket; at: number }> = [];
  private sweep: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(private readonly server: net.Server, readonly host: string, readonly port: number) {
    server.on('connection', (s: Socket) => this.accept(s));
  }

  static async open(host: string, port: number): Promise<SharedListener> {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { server.off('error', reject); resolve(); });
    });
    server.on('error', () => {});
    return new SharedListener(server, host, port);
  }

  /** Whether this listener serves `host:port` (port 0: any port it was given). */
  matches(host: string, port: number): boolean {
    return !this.closed && host === this.host && (port === 0 || port === this.address().port);
  }

  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Connections go to `sink` from now on (those queued first). */
  attach(sink: (s: Socket) => void): void {
    this.sink = sink;
    while (this.queue.length && this.sink === sink) sink(this.queue.shift()!.socket);
  }

  /** Connections queue from now on (if `sink` is still the one attached). */
  detach(sink: (s: Socket) => void): void {
    if (this.sink === sink) this.sink = null;
  }

  get queued(): number {
    return this.queue.length;
  }

  private accept(s: Socket): void {
    s.on('error', () => {});
    if (this.sink) return this.sink(s);
    if (this.queue.length >= MAX_QUEUE) return void s.destroy();
    this.queue.push({ socket: s, at: Date.now() });
    this.sweep ??= setInterval(() => {
      while (this.queue.length && Date.now() - this.queue[0]!.at > QUEUE_MS) this.queue.shift()!.socket.destroy();
      if (!this.queue.length && this.sweep) {
        clearInterval(this.sweep);
        this.sweep = null;
      }
    }, 1_000);
    this.sweep.unref();
  }

  /** Stops listening (the port is free when this resolves); queued connections are closed. */
  close(): Promise<void> {
    this.closed = true;
    this.sink = null;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    for (const q of this.queue.splice(0)) q.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * What an incarnation hands over for one serveHttp key: the listener, while it has one. The next
 * incarnation hands the slot on as soon as it takes it, so a start that fails before it asks for
 * its listener gives the socket back to the version restored after it (the port is never let go).
 */
export class ListenerSlot {
  constructor(public listener: SharedListener | null) {}

  /** Lets go of the listener (the port is free when this resolves); the slot stays, empty. */
  close(): Promise<void> {
    const l = this.listener;
    this.listener = null;
    return l ? l.close() : Promise.resolve();
  }
}
