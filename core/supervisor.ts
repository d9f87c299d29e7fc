// The crash policy (after Erlang/OTP's restart intensity): a crashed instance restarts after an
// exponential backoff, and is given up on after `maxRestarts` crashes within `windowMs`.

export interface SupervisorOptions {
  maxRestarts: number;
  windowMs: number;
  backoffMs: number;
  backoffMaxMs: number;
}

export const DEFAULT_SUPERVISOR: SupervisorOptions = { maxRestarts: 5, windowMs: 60_000, backoffMs: 100, backoffMaxMs: 5_000 };

export type CrashVerdict = { action: 'restart'; delayMs: number; crashes: number } | { action: 'give-up'; crashes: number };

/** Remembers crash times of one instance and decides what each new crash leads to. */
export class CrashRecord {
  private times: number[] = [];
  constructor(private readonly opts: SupervisorOptions) {}

  crash(now = Date.now()): CrashVerdict {
    this.times = this.times.filter((t) => now - t < this.opts.windowMs);
    this.times.push(now);
    const crashes = this.times.length;
    if (crashes > this.opts.maxRestarts) return { action: 'give-up', crashes };
    const delayMs = Math.min(this.opts.backoffMaxMs, this.opts.backoffMs * 2 ** (crashes - 1));
    return { action: 'restart', delayMs, crashes };
  }

  reset(): void {
    this.times = [];
  }
}
