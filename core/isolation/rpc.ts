// A small request/response layer over the one MessagePort between the host and a worker: each
// side calls the other (`call`) and serves the other's calls (`serve`), matched by sequence
// number. Arguments and results are checked as plain data before they are posted, so a function
// or a stream fails the call with CHS_ERR_ISOLATION_CLONE naming the service and member instead
// of arriving hollow. Bundled into the worker too: no host imports beyond protocol.ts.
import { chsError } from '../errors.ts';
import { assertCloneable, errorData, reviveError, type CallMsg, type ReplyMsg } from './protocol.ts';

export class Rpc {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closedWith: Error | null = null;

  constructor(
    /** Instance id, for error messages. */
    private readonly id: string,
    private readonly post: (m: CallMsg | ReplyMsg) => void,
    private readonly serve: (call: CallMsg) => unknown,
  ) {}

  /** Calls across; rejects with the far side's error, CHS_ERR_ISOLATION_CLONE, or the close reason. */
  call(target: CallMsg['target'], label: string, member: string, args: unknown[], where: { as?: string; index?: number } = {}): Promise<unknown> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    try {
      assertCloneable(this.id, label, 'argument', args);
    } catch (err) {
      return Promise.reject(err);
    }
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      try {
        this.post({ t: 'call', seq, target, member, args, label, ...where });
      } catch (err) {
        this.pending.delete(seq);
        reject(chsError('CHS_ERR_ISOLATION_CLONE', `${this.id}: ${label}: an argument cannot cross the worker boundary: ${(err as Error).message}`));
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
      if (r.ok) p.resolve(r.value);
      else p.reject(reviveError(r.error!));
      return true;
    }
    if (m.t !== 'call') return false;
    const c = m as CallMsg;
    const reply = (r: Omit<ReplyMsg, 't' | 'seq'>) => {
      if (this.closedWith) return;
      try {
        this.post({ t: 'reply', seq: c.seq, ...r });
      } catch (err) {
        this.post({ t: 'reply', seq: c.seq, ok: false, error: errorData(chsError('CHS_ERR_ISOLATION_CLONE', `${this.id}: ${c.label}: the result cannot cross the worker boundary: ${(err as Error).message}`)) });
      }
    };
    Promise.resolve()
      .then(() => this.serve(c))
      .then((value) => {
        assertCloneable(this.id, c.label, 'result', value);
        reply({ ok: true, value });
      })
      .catch((err: unknown) => reply({ ok: false, error: errorData(err) }));
    return true;
  }

  /** Fails every call in flight (the far side is gone) and every later one. */
  close(err: Error): void {
    this.closedWith ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
