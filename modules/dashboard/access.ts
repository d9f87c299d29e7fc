// Who may use the dashboard. Loopback (127.0.0.0/8, ::1, localhost) is open by default; any other
// address needs a token, checked before the server listens. With a token configured, every
// request but /healthz must carry it: the HttpOnly SameSite=Strict cookie the login form sets, or
// `Authorization: Bearer TOKEN`. Comparisons are constant-time (over SHA-256 digests, so the
// lengths never leak either).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { dashboardError } from './errors.ts';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** True for 127.0.0.0/8, ::1 (any spelling, bracketed or not), ::ffff:127.x.y.z and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  const kind = isIP(h);
  if (kind === 4) return loopback.check(h, 'ipv4');
  if (kind === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped ? loopback.check(mapped[1]!, 'ipv4') : loopback.check(h, 'ipv6');
  }
  return false;
}

/** Refuses (before anything listens) a non-loopback address without a token. */
export function checkListen(id: string, host: string, token: string | undefined): void {
  if (!isLoopback(host) && !token) {
    throw dashboardError('CHS_ERR_DASHBOARD_TOKEN', `${id}: host "${host}" is not loopback, so the dashboard needs "token" (at least 16 characters) in its config; refusing to start`);
  }
}

export const COOKIE = 'chs_dashboard';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The token check of one configuration: `enabled` false means everything is open (loopback without a token). */
export class Gate {
  /** What the cookie carries: derived from the token, so the token itself never sits in a cookie jar. */
  private readonly session: string | null;

  constructor(private readonly token: string | undefined) {
    this.session = token ? createHmac('sha256', token).update('cheshire-dashboard-session').digest('base64url') : null;
  }

  get enabled(): boolean {
    return !!this.token;
  }

  /** Whether a login form's candidate is the token. */
  accepts(candidate: string): boolean {
    return !!this.token && sameSecret(candidate, this.token);
  }

  /** Whether the request carries the token (bearer) or the session cookie; always true without a token. */
  admits(req: IncomingMessage): boolean {
    if (!this.token || !this.session) return true;
    const auth = req.headers.authorization;
    if (auth && /^bearer\s+/i.test(auth)) return sameSecret(auth.replace(/^bearer\s+/i, '').trim(), this.token);
    const c = cookieValue(req.headers.cookie, COOKIE);
    return c !== null && sameSecret(c, this.session);
  }

  loginCookie(): string {
    return `${COOKIE}=${this.session}; HttpOnly; SameSite=Strict; Path=/`;
  }

  static logoutCookie(): string {
    return `${COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}
