// Upload tokens: random, expiring, with a bounded number of uses and a size limit. A use is
// taken when an upload starts and given back when it fails, so a client can retry a failed
// upload with the same token until it expires.
import { randomBytes } from 'node:crypto';

export interface Token {
  token: string;
  expiresAt: number;
  uses: number;
  maxBytes: number;
}

export interface TokenOptions { ttlMs?: number; uses?: number; maxBytes?: number }

export type TokenCheck = { ok: true; token: Token } | { ok: false; status: 401 | 403; message: string };

export class Tokens {
  constructor(readonly map: Map<string, Token> = new Map()) {}

  issue(opts: TokenOptions, defaults: { ttlMs: number; maxBytes: number }): Token {
    this.prune();
    const t: Token = {
      token: randomBytes(24).toString('base64url'),
      expiresAt: Date.now() + (opts.ttlMs ?? defaults.ttlMs),
      uses: Math.max(1, Math.floor(opts.uses ?? 1)),
      maxBytes: Math.min(opts.maxBytes ?? defaults.maxBytes, defaults.maxBytes),
    };
    this.map.set(t.token, t);
    return t;
  }

  /** The live token named `value` (not expired, not used up), without taking a use. */
  peek(value: string | undefined): TokenCheck {
    if (!value) return { ok: false, status: 401, message: 'upload token required' };
    const t = this.map.get(value);
    if (!t) return { ok: false, status: 403, message: 'upload token unknown or used up' };
    if (t.expiresAt <= Date.now()) {
      this.map.delete(value);
      return { ok: false, status: 403, message: 'upload token expired' };
    }
    if (t.uses <= 0) return { ok: false, status: 403, message: 'upload token unknown or used up' };
    return { ok: true, token: t };
  }

  /** Whether `value` names an unexpired token (used up or not): progress channels accept it. */
  known(value: string | undefined): boolean {
    const t = value ? this.map.get(value) : undefined;
    return !!t && t.expiresAt > Date.now();
  }

  /** Takes one use of a live token. */
  take(value: string | undefined): TokenCheck {
    const r = this.peek(value);
    if (r.ok) r.token.uses--;
    return r;
  }

  /** Gives back a use taken by a failed upload. */
  giveBack(t: Token): void {
    t.uses++;
    if (!this.map.has(t.token) && t.expiresAt > Date.now()) this.map.set(t.token, t);
  }

  /** Drops a token whose uses all succeeded. */
  settle(t: Token): void {
    if (t.uses <= 0) this.map.delete(t.token);
  }

  revoke(value: string): boolean { return this.map.delete(value); }

  prune(): void {
    const now = Date.now();
    for (const [k, t] of this.map) if (t.expiresAt <= now) this.map.delete(k);
  }
}
