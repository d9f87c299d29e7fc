// One request in flight on a session: its tag, an AbortController the handler's signal comes
// from, and the bookkeeping that orders Rflush after the flushed reply (lib9p's Req).
//
// The AbortController is made on first use of `signal`: one costs ~3 µs to create in Node 20
// (a tenth of the server's CPU per Tgetattr before), and only handlers that hand the signal to
// a tree (read, write, auth) ever need one.

import type { Fid, FidUser } from './fids.ts';

export class Req implements FidUser {
  private ac: AbortController | undefined;
  private abortedEarly = false;
  /** A Tflush named this request: if it fails (aborted) it is not answered at all. */
  flushed = false;
  /** Dropped without an answer (session reset or ended, flush gave up waiting). */
  abandoned = false;
  finished = false;
  /** Tflush requests to answer right after this one is answered or abandoned (made when needed). */
  flushes: Req[] | undefined;
  /** Fids this request uses: clunking one of them aborts the request (made when needed). */
  fids: Fid[] | undefined;
  flushTimer: NodeJS.Timeout | undefined;
  private settle: (() => void) | undefined;
  private settledP: Promise<void> | undefined;

  constructor(readonly tag: number, readonly type: string) {}

  get signal(): AbortSignal {
    if (!this.ac) {
      this.ac = new AbortController();
      if (this.abortedEarly) this.ac.abort();
    }
    return this.ac.signal;
  }

  /** Whether abort() was called (without creating a signal). */
  get aborted(): boolean { return this.abortedEarly || (this.ac?.signal.aborted ?? false); }

  abort(): void {
    if (this.ac) {
      if (!this.ac.signal.aborted) this.ac.abort();
    } else {
      this.abortedEarly = true;
    }
  }

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
    if (this.fids) for (const f of this.fids) f.users.delete(this);
    this.settle?.();
    this.settle = undefined;
  }
}
