// A small request/response layer over the one MessagePort between the host and a worker: each
// side calls the other (`call`) and serves the other's calls (`serve`), matched by sequence
// number. Arguments and results are checked as plain data before they are posted, so a function
// or a stream fails the call with CHS_ERR_ISOLATION_CLONE naming the service and member instead
// of arriving hollow. Bundled into the worker too: no host imports beyond protocol.ts.
import { chsError } from '../errors.ts';
import { assertCloneable, errorData, reviveError, type CallMsg, type CancelMsg, type ReplyMsg } from './protocol.ts';

export class Rpc {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; label: string; timer?: NodeJS.Timeout }>();
  private closedWith: Error | null = null;
  /** Calls from the far side being served that can be cancelled (by seq). */
  private readonly serving = new Map<number, AbortController>();
  /** Deadline of a call to a service or a dependency (ms; 0: none): CHS_ERR_ISOLATION_CALL_TIMEOUT names service.member. */
  deadlineMs = 0;

  constructor(
    /** Instance id, for error messages. */
    private readonly id: string,
    private readonly post: (m: CallMsg | ReplyMsg | CancelMsg) => void,
    private readonly serve: (call: CallMsg, signal: AbortSignal | undefined) => unknown,
  ) {}

  /** Calls across; rejects with the far side's error, CHS_ERR_ISOLATION_CLONE, or the close reason. */
  call(target: CallMsg['target'], label: string, member: string, args: unknown[], where: { as?: string; index?: number } = {}, signal?: AbortSignal): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    if (signal?.aborted) return Promise.reject(signal.reason);
    try {
      assertCloneable(this.id, label, 'argument', args);
    } catch (err) {
      return Promise.reject(err);
    }
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const p: { resolve: (v: unknown) => void; reject: (e: Error) => void; label: string; timer?: NodeJS.Timeout } = { resolve, reject, label };
      const ms = this.deadlineMs;
      if (ms > 0 && (target === 'service' || target === 'dep')) {
        p.timer = setTimeout(() => {
          if (!this.pending.delete(seq)) return;
          reject(chsError('CHS_ERR_ISOLATION_CALL_TIMEOUT', `${this.id}: ${label} did not answer within ${ms} ms (the call was given up; the far side may be stuck)`));
        }, ms);
        p.timer.unref?.();
      }
      this.pending.set(seq, p);
      // Given up by the caller: the far side is told (its handler's signal aborts), the call fails here now.
      const onAbort = () => {
        if (!this.pending.delete(seq)) return;
        clearTimeout(p.timer);
        try { this.post({ t: 'cancel', seq }); } catch { /* closed */ }
        reject(signal!.reason);
      };
      if (signal) {
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = (): void => signal.removeEventListener('abort', onAbort);
        p.resolve = (v) => { settle(); resolve(v); };
        p.reject = (e) => { settle(); reject(e); };
      }
      try {
        this.post({ t: 'call', seq, target, member, args, label, ...where });
      } catch (err) {
        this.pending.delete(seq);
        clearTimeout(p.timer);
        reject(chsError('CHS_ERR_ISOLATION_CLONE', `${this.id}: ${label}: an argument cannot cross the isolation boundary: ${(err as Error).message}`));
      }
    });
  }

  /** Handles a call or reply from the far side; returns false for any other message. */
  receive(m: { t: string }): boolean {
    if (m.t === 'reply') {
      const r = m as ReplyMsg;
      const p = this.pending.get(r.seq);
      if (!p) return true;
      this.pending.delete(r.seq);
      clearTimeout(p.timer);
      if (r.ok) p.resolve(r.value);
      else p.reject(reviveError(r.error!));
      return true;
    }
    if (m.t === 'cancel') {
      this.serving.get((m as CancelMsg).seq)?.abort(new Error('the caller gave up on the call'));
      return true;
    }
    if (m.t !== 'call') return false;
    const c = m as CallMsg;
    // Only a mounted tree's operations wait on the far side's say-so (a blocking read); others finish on their own.
    const ac = c.target === 'tree' ? new AbortController() : undefined;
    if (ac) this.serving.set(c.seq, ac);
    const reply = (r: Omit<ReplyMsg, 't' | 'seq'>) => {
      if (this.closedWith) return;
      try {
        this.post({ t: 'reply', seq: c.seq, ...r });
      } catch (err) {
        this.post({ t: 'reply', seq: c.seq, ok: false, error: errorData(chsError('CHS_ERR_ISOLATION_CLONE', `${this.id}: ${c.label}: the result cannot cross the isolation boundary: ${(err as Error).message}`)) });
      }
    };
    Promise.resolve()
      .then(() => this.serve(c, ac?.signal))
      .then((value) => {
        assertCloneable(this.id, c.label, 'result', value);
        reply({ ok: true, value });
      })
      .catch((err: unknown) => reply({ ok: false, error: errorData(err) }))
      .finally(() => { if (ac) this.serving.delete(c.seq); });
    return true;
  }

  /** Fails every call in flight (the far side is gone) and every later one. */
  close(err: Error): void {
    this.closedWith ??= err;
    for (const ac of this.serving.values()) ac.abort(err);
    this.serving.clear();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      // Each caller learns which call of theirs failed, with the reason's code.
      const e = new Error(`${p.label}: ${err.message}`);
      const code = (err as { code?: string }).code;
      if (code) (e as { code?: string }).code = code;
      p.reject(e);
    }
    this.pending.clear();
  }
}
