// Admission and deadlines for the connections of one HTTP listener (the proxy's, the
// fileserver's): a cap per peer address and in all, with slots only the operator (loopback, by
// default) may use (base/peer-slots.ts, the rules of the 9P server's admission); a refused
// connection is answered 429 (its address is over its cap) or 503 (the listener is full) with
// `Connection: close`. The guard also holds the listener's connection clocks (conn-clock.ts:
// head, idle, body and linger deadlines) and writes the refusals and time-outs to the log, one
// line per reason at most once per interval, so a flood cannot flood the log.
//
// One guard per listening server, found again by each new version of the module (the server is
// handed over; the guard is kept beside it): connections accepted by an older version keep their
// slots and clocks, and configure() swaps in the new version's limits and log.
import type { Server, Socket } from 'node:net';
import { isLoopback, normalizeAddress } from '../../base/peer.ts';
import { isRefusal, PeerSlots, type Slot, type SlotLimits } from '../../base/peer-slots.ts';
import { RateLimitedLog, withHeld } from '../../base/rate-limited-log.ts';
import { Clocks, type ClockLimits } from './conn-clock.ts';
import { answerAndClose } from './http-close.ts';

export interface HttpLimits extends SlotLimits, ClockLimits {}

/** The limit keys an HTTP module's config schema declares (proxy, fileserver). */
export interface HttpLimitsConfig {
  headTimeoutMs: number;
  bodyTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxPerAddress: number;
  operatorReserve: number;
}

/** HttpLimits from a module's config: after our side closed, the client has min(head deadline, 5 s) to close its own; the operator reserve never exceeds the cap. */
export function guardLimits(c: HttpLimitsConfig): HttpLimits {
  return {
    headTimeoutMs: c.headTimeoutMs,
    bodyTimeoutMs: c.bodyTimeoutMs,
    idleTimeoutMs: c.idleTimeoutMs,
    lingerMs: Math.min(c.headTimeoutMs, 5000),
    maxConnections: c.maxConnections,
    maxPerAddress: c.maxPerAddress,
    operatorReserve: Math.min(c.operatorReserve, c.maxConnections),
  };
}

export interface HttpGuardOptions<C extends string = string> {
  limits: HttpLimits;
  /** The module's code for a refused connection (CHS_ERR_<MODULE>_REFUSED). */
  refusedCode: C;
  /** Writes one typed line to the module's log (called at most once per reason per logIntervalMs). */
  log: (code: C, message: string) => void;
  /** Default 60000. */
  logIntervalMs?: number;
  /** Default: loopback (127.0.0.0/8, ::1). */
  isOperator?: (address: string) => boolean;
}

export interface GuardStats { refusedPerAddress: number; refusedFull: number; connectionsHeld: number }

export class HttpGuard<C extends string = string> {
  readonly slots: PeerSlots;
  readonly clocks: Clocks;
  private opts: HttpGuardOptions<C>;
  private reports: RateLimitedLog;
  private readonly counts = { refusedPerAddress: 0, refusedFull: 0 };
  private readonly held = new WeakMap<Socket, Slot>();

  constructor(opts: HttpGuardOptions<C>) {
    this.opts = opts;
    this.slots = new PeerSlots(opts.limits, (a) => (this.opts.isOperator ?? isLoopback)(a));
    this.clocks = new Clocks(opts.limits);
    this.reports = new RateLimitedLog(undefined, opts.logIntervalMs ?? 60_000);
  }

  get limits(): HttpLimits { return this.opts.limits; }

  configure(opts: HttpGuardOptions<C>): void {
    this.slots.setLimits(opts.limits);
    this.clocks.setLimits(opts.limits);
    if ((opts.logIntervalMs ?? 60_000) !== (this.opts.logIntervalMs ?? 60_000)) this.reports = new RateLimitedLog(undefined, opts.logIntervalMs ?? 60_000);
    this.opts = opts;
  }

  /**
   * Takes a slot for a newly accepted socket, given back when it closes: true. Or refuses it
   * (429 over its address's cap, 503 when full; `Connection: close`), logs why: false.
   */
  admit(socket: Socket): boolean {
    const address = normalizeAddress(socket.remoteAddress);
    const slot = this.slots.take(address);
    if (!isRefusal(slot)) {
      this.hold(socket, slot);
      return true;
    }
    if (slot.reason === 'per-address') this.counts.refusedPerAddress++;
    else this.counts.refusedFull++;
    this.report(slot.reason, this.opts.refusedCode, `refused a connection: ${slot.text}`);
    answerAndClose(socket, slot.reason === 'per-address' ? 429 : 503, `${slot.text} (${this.opts.refusedCode})`, Math.min(1000, this.opts.limits.lingerMs));
    return false;
  }

  /**
   * The connection of `from` goes on as `to` (a socket moved onto a reused read buffer is a new
   * object, and the old one closes): its slot now goes back when `to` closes. Call it in the tick
   * of the move. A socket that holds no slot is left alone.
   */
  moved(from: Socket, to: Socket): void {
    const slot = this.held.get(from);
    if (!slot || from === to) return;
    this.held.delete(from);
    this.hold(to, slot);
  }

  private hold(socket: Socket, slot: Slot): void {
    this.held.set(socket, slot);
    socket.once('close', () => {
      if (this.held.get(socket) !== slot) return; // moved on
      this.held.delete(socket);
      slot.release();
    });
  }

  /** Logs `message` with `code`, unless a line for `reason` was logged within the interval. */
  report(reason: string, code: C, message: string): void {
    const held = this.reports.due(`${code}/${reason}`);
    if (held === null) return;
    try {
      this.opts.log(code, withHeld(message, held));
    } catch { /* a logging hook must not take the listener down */ }
  }

  stats(): GuardStats { return { ...this.counts, connectionsHeld: this.slots.connections }; }
}

const guards = new WeakMap<Server, HttpGuard<any>>();

/** The guard of `server`: made on the first call, reconfigured with `opts` on later ones. */
export function httpGuard<C extends string>(server: Server, opts: HttpGuardOptions<C>): HttpGuard<C> {
  const known = guards.get(server) as HttpGuard<C> | undefined;
  if (known) {
    known.configure(opts);
    return known;
  }
  const g = new HttpGuard(opts);
  guards.set(server, g);
  server.once('close', () => g.clocks.close());
  return g;
}
