// Deadlines for the connections of one server, checked by one coarse sweep instead of a timer per
// connection: arming costs a Date.now() and two stores, so a relay can re-arm per chunk. A clock
// is a *deadline*, not an idle timer: a head's deadline does not move when a byte arrives, so a
// sender trickling one byte a second is still cut off on time. The sweep runs every quarter of
// the shortest limit (20 ms .. 1 s) while the server has connections; a deadline fires within
// that much after it passes.

export type ClockKind = 'head' | 'idle' | 'body' | 'linger';

export interface ClockLimits {
  /** A complete request head within this long of its first byte (of the connection, for the first). */
  headTimeoutMs: number;
  /** Keep-alive: how long a connection may wait, silent, for its next request. */
  idleTimeoutMs: number;
  /** A request body that makes no progress for this long is abandoned. */
  bodyTimeoutMs: number;
  /** After our side closed, how long the peer has to close its side before the socket is destroyed. */
  lingerMs: number;
}

export type OnExpire = (kind: ClockKind, ms: number) => void;

export class ConnClock {
  kind: ClockKind | null = null;
  /** Absolute ms when the deadline passes; 0 = none. */
  deadline = 0;
  ms = 0;

  constructor(private readonly owner: Clocks, readonly onExpire: OnExpire) {}

  /** Starts the head deadline, unless a head deadline runs already (bytes never restart it). */
  head(): void { if (this.kind !== 'head') this.arm('head', this.owner.limits.headTimeoutMs); }
  /** (Re)starts the idle deadline: a request is done and the connection waits for the next. */
  idle(): void { this.arm('idle', this.owner.limits.idleTimeoutMs); }
  /** (Re)starts the body deadline: call on every body byte received. */
  body(): void { this.arm('body', this.owner.limits.bodyTimeoutMs); }
  /** Starts the linger deadline once our side is closed (not restarted by later calls). */
  linger(): void { if (this.kind !== 'linger') this.arm('linger', this.owner.limits.lingerMs); }
  /** No deadline (waiting on something with its own timeout, or a tunnel). */
  off(): void { this.kind = null; this.deadline = 0; }
  /** Off for good: the connection is gone. */
  stop(): void { this.off(); this.owner.drop(this); }

  private arm(kind: ClockKind, ms: number): void {
    this.kind = kind;
    this.ms = ms;
    this.deadline = Date.now() + ms;
  }
}

/** The clocks of one server and the sweep that fires them. */
export class Clocks {
  private readonly all = new Set<ConnClock>();
  private timer: NodeJS.Timeout | undefined;
  private period = 0;

  constructor(public limits: ClockLimits) { checkLimits(limits); }

  /** New limits apply to deadlines armed from now on. */
  setLimits(limits: ClockLimits): void {
    checkLimits(limits);
    this.limits = limits;
    if (this.timer && periodOf(limits) !== this.period) { clearInterval(this.timer); this.timer = undefined; this.start(); }
  }

  /** A clock for a new connection (no deadline yet); stop() it when the connection closes. */
  clock(onExpire: OnExpire): ConnClock {
    const c = new ConnClock(this, onExpire);
    this.all.add(c);
    this.start();
    return c;
  }

  get size(): number { return this.all.size; }

  /** Stops the sweep (the clocks stay; a new clock starts it again). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  drop(c: ConnClock): void {
    this.all.delete(c);
    if (this.all.size === 0) this.close();
  }

  private start(): void {
    if (this.timer) return;
    this.period = periodOf(this.limits);
    this.timer = setInterval(() => this.sweep(), this.period);
    this.timer.unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const c of this.all) {
      if (c.deadline === 0 || now < c.deadline) continue;
      const kind = c.kind!;
      const ms = c.ms;
      c.off();
      try {
        c.onExpire(kind, ms);
      } catch { /* one connection's handler must not stop the sweep for the others */ }
    }
  }
}

function periodOf(l: ClockLimits): number {
  return Math.max(20, Math.min(1000, Math.floor(Math.min(l.headTimeoutMs, l.idleTimeoutMs, l.bodyTimeoutMs, l.lingerMs) / 4)));
}

function checkLimits(l: ClockLimits): void {
  for (const [k, v] of Object.entries(l)) {
    if (!Number.isInteger(v) || v < 1) throw new TypeError(`${k} must be a positive integer of ms, got ${v}`);
  }
}
