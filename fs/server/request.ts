// One request in flight on a session: its tag, an AbortController the handler's signal comes
// from, and the bookkeeping that orders Rflush after the flushed reply (lib9p's Req).

import type { Fid, FidUser } from './fids.ts';

export class Req implements FidUser {
  private readonly ac = new AbortController();
  /** A Tflush named this request: if it fails (aborted) it is not answered at all. */
  flushed = false;
  /** Dropped without an answer (session reset or ended, flush gave up waiting). */
  abandoned = false;
  finished = false;
  /** Tflush requests to answer right after this one is answered or abandoned. */
  readonly flushes: Req[] = [];
  /** Fids this request uses: clunking one of them aborts the request. */
  readonly fids: Fid[] = [];
  flushTimer: NodeJS.Timeout | undefined;
  private settle: (() => void) | undefined;
  private settledP: Promise<void> | undefined;

  constructor(readonly tag: number, readonly type: string) {}

  get signal(): AbortSignal { return this.ac.signal; }

  abort(): void { if (!this.ac.signal.aborted) this.ac.abort(); }

  /** Resolves once the handler has settled (created lazily: most requests are never awaited). */
  get settled(): Promise<void> {
    if (this.finished && !this.settle) return Promise.resolve();
    this.settledP ??= new Promise<void>((resolve) => { this.settle = resolve; });
    return this.settledP;
  }

  /** The handler settled (or the request was abandoned): detach from fids and wake waiters. */
  done(): void {
    this.finished = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const f of this.fids) f.users.delete(this);
    this.settle?.();
    this.settle = undefined;
  }
}
