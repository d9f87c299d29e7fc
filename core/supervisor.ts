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

/** What the supervisor drives: the engine's restart and crash steps, run under the host's lock. */
export interface Supervised<I extends { state: string; backoffTimer: NodeJS.Timeout | null }, R> {
  /** The engine currently in charge; a timer set by an older engine does nothing. */
  current(): { tryStart(inst: I, restartOf?: 'crash'): Promise<boolean>; fail(inst: I, err: unknown): Promise<void>; reconcile(): Promise<void> } | null;
  /** Whether `run` is still the instance's current incarnation (a late crash of an old one is ignored). */
  isCurrent(inst: I, run: R): boolean;
  lock<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * The engine's crash hooks: a crash is judged by the crash policy (Lifecycle.fail), and a restart
 * after backoff is a timer that tries the start again under the lock, unless the instance left
 * `backoff` meanwhile (stopped, reloaded) or another engine took over (the node rebooted).
 */
export function supervisorHooks<I extends { state: string; backoffTimer: NodeJS.Timeout | null }, R>(s: Supervised<I, R>) {
  return {
    schedule(inst: I, ms: number): void {
      const owner = s.current();
      inst.backoffTimer = setTimeout(() => {
        inst.backoffTimer = null;
        void s.lock(async () => {
          const e = s.current();
          if (inst.state !== 'backoff' || !e || e !== owner) return;
          await e.tryStart(inst, 'crash');
          await e.reconcile();
        });
      }, ms);
    },
    onCrash(inst: I, run: R, err: unknown): void {
      void s.lock(async () => {
        const e = s.current();
        if (!e || !s.isCurrent(inst, run)) return;
        await e.fail(inst, err);
        await e.reconcile();
      });
    },
  };
}
