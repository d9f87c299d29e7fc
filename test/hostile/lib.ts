// What every hostile test needs beside its attack: waits with deadlines, the operator's own client
// reading the node while it is attacked (a loop bounded in rounds and time), memory, event-loop
// and descriptor measurements of this process (the node runs in it), and the one summary line per
// attack (`hostile: NAME  trials=N failures=N maxRssGrowthMb=X ...`).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { withDeadline } from '../../fs/testing/raw.ts';
import { fdCount } from '../helpers/fds.ts';

export { fdCount };

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const MiB = 1024 * 1024;

/** JSON for messages (bigints as strings, bytes as their length), cut to `max` characters. */
export function show(v: unknown, max = 300): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : x instanceof Uint8Array ? `<${x.length} bytes>` : x))?.slice(0, max) ?? String(v);
}

/** Prints the attack's summary line (the suite's README says how to collect them). */
export function summary(attack: string, fields: Record<string, string | number>): string {
  // On a line of its own: uvu's progress dots have no newline after them.
  const line = `hostile: ${attack}  ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(1) : v}`).join(' ')}`;
  console.log(`\n${line}`);
  return line;
}

let gc: (() => void) | undefined;

/** What JavaScript holds (heap and Buffers) after a full collection, in bytes. */
export function heldBytes(): number {
  if (!gc) {
    setFlagsFromString('--expose-gc'); // without restarting node under --expose-gc
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Samples this process's RSS every `everyMs` until stopped; reports the largest growth over the baseline. */
export class RssWatch {
  readonly baseline = process.memoryUsage().rss;
  private max = this.baseline;
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 20) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref(); // a failed test that never calls stop() must not keep the process alive
  }
  sample(): void {
    const rss = process.memoryUsage().rss;
    if (rss > this.max) this.max = rss;
  }
  /** Largest growth seen so far, in MiB. */
  growthMb(): number {
    this.sample();
    return (this.max - this.baseline) / MiB;
  }
  stop(): number {
    clearInterval(this.timer);
    return this.growthMb();
  }
}

/** The event loop's longest stall (ms) while it runs; the node's handlers run on this loop. */
export class StallWatch {
  private readonly h = monitorEventLoopDelay({ resolution: 10 });
  constructor() { this.h.enable(); }
  maxMs(): number { return this.h.max / 1e6; }
  stop(): number {
    this.h.disable();
    return this.maxMs();
  }
}


/** Waits until `check()` holds; fails naming `what` (and the last value seen) after `ms`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms: number, everyMs = 20, describe?: () => string): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${describe ? ` (${describe()})` : ''}`);
    await sleep(everyMs);
  }
}

/**
 * Waits until this process's descriptor count is back to at most `baseline + slack`. The default
 * wait outlasts the log files' idle close (core/logs/fd-cache.ts: 5 s), since an attack's refusals
 * are logged: a descriptor still open after that is held, not idle.
 */
export async function fdsSettle(baseline: number, slack: number, what: string, ms = 12_000): Promise<number> {
  let now = fdCount();
  await until(`descriptors back to ${baseline} (+${slack}) after ${what}`, () => (now = fdCount()) <= baseline + slack, ms, 50, () => `now ${now}`);
  return now;
}

export interface OperatorResult { ok: number; failures: string[]; slowestMs: number }

/**
 * The operator at work while the node is attacked: from 127.0.0.1, a fresh 9P connection every
 * round (so admission is tested, not just a connection made before the attack), attach, read
 * `path`, check it, close. Each round has a deadline; the loop runs until stop() (and at most
 * `maxRounds` rounds and `maxMs`), pausing `pauseMs` between rounds.
 */
export class OperatorLoop {
  readonly result: OperatorResult = { ok: 0, failures: [], slowestMs: 0 };
  private stopped = false;
  private readonly done: Promise<void>;
  constructor(private readonly port: number, private readonly opts: {
    path?: string; expect?: RegExp; pauseMs?: number; deadlineMs?: number; maxRounds?: number; maxMs?: number; version?: Dialect;
  } = {}) {
    this.done = this.loop();
  }

  private async round(): Promise<void> {
    const started = Date.now();
    const deadline = this.opts.deadlineMs ?? 3000;
    let c: Client | undefined;
    try {
      await withDeadline((async () => {
        c = await Client.connect({ port: this.port, version: this.opts.version ?? '9P2000.u', timeoutMs: deadline });
        await c.attach({ uname: 'operator' });
        const text = (await c.readFile(this.opts.path ?? '/status')).toString('utf8');
        const re = this.opts.expect ?? /styx-root\s+active/;
        if (!re.test(text)) throw new Error(`${this.opts.path ?? '/status'} did not match ${re}: ${JSON.stringify(text.slice(0, 200))}`);
      })(), deadline, `the operator's read of ${this.opts.path ?? '/status'}`);
      this.result.ok++;
    } catch (err) {
      this.result.failures.push((err as Error).message);
    } finally {
      await (c as Client | undefined)?.close().catch(() => undefined);
      this.result.slowestMs = Math.max(this.result.slowestMs, Date.now() - started);
    }
  }

  private async loop(): Promise<void> {
    const max = this.opts.maxRounds ?? 10_000;
    const end = Date.now() + (this.opts.maxMs ?? 120_000);
    for (let i = 0; i < max && !this.stopped && Date.now() < end; i++) {
      await this.round();
      if (!this.stopped) await sleep(this.opts.pauseMs ?? 25);
    }
  }

  async stop(): Promise<OperatorResult> {
    this.stopped = true;
    await this.done;
    return this.result;
  }
}
