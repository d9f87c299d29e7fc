// The seed's wire protocol (modules/seed and modules/seed-client share it): JSON messages over a
// WebSocket. A node proves who it is by signing its introduction with its node key; the signed
// bytes are the exact JSON text sent, so no canonical form is needed. The introduction carries the
// seed's per-connection challenge nonce and a timestamp, so a captured one cannot be replayed on
// another connection or later.
import { randomBytes } from 'node:crypto';
import { verifySignature, type Identity } from 'cheshire/sdk';

export const SEED_PROTOCOL = 1;

/**
 * A Host/path prefix a node serves. host: exact name, `*.example.com`, or `*` (any). http: the
 * base URL serving it when not the node's own `http` (a node may run several HTTP modules).
 */
export interface SeedRoute {
  host: string;
  prefix: string;
  http?: string;
}

/** What a node says about itself (signed). */
export interface Intro {
  protocol: number;
  node: string;
  role: string;
  modules: string[];
  /** Raw ed25519 public key, hex (the key that signed this). */
  publicKey: string;
  /** Base URL of the node's HTTP endpoint for its routes (`http://127.0.0.1:8090`), or null. */
  http: string | null;
  routes: SeedRoute[];
  /** The node's 9P address (`127.0.0.1:6666`), or null. */
  ninep: string | null;
  /** The seed's challenge nonce for this connection. */
  nonce: string;
  /** Milliseconds since the epoch when signed. */
  ts: number;
  /** A join token, for a key the seed does not list. */
  token?: string;
  /** The node's health: ok when every instance that should run passes its health check. */
  health?: NodeHealth;
}

/** A node's health as the directory carries it (from its instances' health checks). */
export interface NodeHealth {
  ok: boolean;
  /** Instance ids failing their check (or not active though they should run). */
  failing: string[];
}

export type SeedEvent =
  | { type: 'build'; build: number }
  | { type: 'reload'; module: string; role: string };

export interface DirectoryNode {
  /** The node's public key (hex): its identity in the directory. */
  id: string;
  node: string;
  role: string;
  modules: string[];
  http: string | null;
  ninep: string | null;
  routes: SeedRoute[];
  /** Remote address of its seed connection. */
  address: string;
  /** When it introduced itself (ms since epoch). */
  since: number;
  /** Its health as of its last (re-)introduction; null from a node that does not say. */
  health: NodeHealth | null;
}

export interface DirectoryRoute extends SeedRoute {
  /** Live nodes serving it: id, name and HTTP base URL. */
  nodes: Array<{ id: string; node: string; http: string }>;
}

export interface Directory {
  /** Increases with every change. */
  version: number;
  nodes: DirectoryNode[];
  routes: DirectoryRoute[];
}

/** Node -> seed. */
export type ClientMessage =
  | { t: 'hello'; intro: string; sig: string }
  | { t: 'ping' }
  | { t: 'subscribe' }
  | { t: 'ack'; seq: number; ok: boolean; error?: string };

/** Seed -> node. */
export type SeedMessage =
  | { t: 'challenge'; protocol: number; nonce: string; seed: string }
  | { t: 'welcome'; id: string; nonce: string; heartbeatMs: number; build: number | null }
  | { t: 'refused'; code: string; reason: string }
  | { t: 'pong' }
  | { t: 'directory'; directory: Directory }
  | { t: 'event'; seq: number; event: SeedEvent };

/** WebSocket close codes the seed uses (4000-4999 are the application's). */
export const CLOSE = {
  /** The seed refused the node (the reason is in the preceding `refused` message). */
  refused: 4003,
  /** The node missed its heartbeats. */
  heartbeat: 4008,
  /** The node connected again; this older connection is replaced. */
  replaced: 4009,
  /** The seed is restarting (reload): reconnect at once. */
  restart: 1012,
} as const;

export const newNonce = (): string => randomBytes(18).toString('base64url');

/** Builds a signed `hello` from an introduction (nonce and ts are filled in here). */
export function signIntro(identity: Identity, intro: Omit<Intro, 'protocol' | 'publicKey' | 'ts'>, now = Date.now()): ClientMessage {
  const full: Intro = { protocol: SEED_PROTOCOL, publicKey: identity.publicKey, ...intro, ts: now };
  const text = JSON.stringify(full);
  return { t: 'hello', intro: text, sig: identity.sign(Buffer.from(text, 'utf8')).toString('hex') };
}

export type IntroCheck =
  | { ok: true; intro: Intro }
  | { ok: false; code: 'CHS_ERR_SEED_PROTOCOL' | 'CHS_ERR_SEED_SIGNATURE' | 'CHS_ERR_SEED_REPLAY'; reason: string };

const HEX64 = /^[0-9a-f]{64}$/;
const HTTP_BASE = /^https?:\/\/[^/\s]+\/?$/;
const str = (v: unknown): v is string => typeof v === 'string';
const strOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

function introShape(v: unknown): string | null {
  if (!v || typeof v !== 'object') return 'the introduction is not a JSON object';
  const i = v as Record<string, unknown>;
  if (i.protocol !== SEED_PROTOCOL) return `protocol ${String(i.protocol)} is not ${SEED_PROTOCOL}`;
  for (const k of ['node', 'role', 'publicKey', 'nonce'] as const) if (!str(i[k]) || !i[k]) return `"${k}" must be a non-empty string`;
  if (!HEX64.test(i.publicKey as string)) return '"publicKey" must be 64 lowercase hex digits (a raw ed25519 key)';
  if (!Array.isArray(i.modules) || !i.modules.every(str)) return '"modules" must be an array of strings';
  if (!strOrNull(i.http)) return '"http" must be a URL string or null';
  if (i.http !== null && !HTTP_BASE.test(i.http as string)) return `"http" must be a base URL like http://127.0.0.1:8090, not ${JSON.stringify(i.http)}`;
  if (!strOrNull(i.ninep)) return '"ninep" must be a host:port string or null';
  if (typeof i.ts !== 'number' || !Number.isFinite(i.ts)) return '"ts" must be a number (ms since the epoch)';
  if (i.token !== undefined && !str(i.token)) return '"token" must be a string';
  if (i.health !== undefined) {
    const h = i.health as Record<string, unknown> | null;
    if (!h || typeof h.ok !== 'boolean' || !Array.isArray(h.failing) || !h.failing.every(str)) return '"health" must be { ok: boolean, failing: string[] }';
  }
  if (!Array.isArray(i.routes)) return '"routes" must be an array';
  for (const r of i.routes as unknown[]) {
    const route = r as Record<string, unknown>;
    if (!route || !str(route.host) || !str(route.prefix) || !route.host || !route.prefix.startsWith('/')) {
      return `route ${JSON.stringify(r)} must be { host, prefix[, http] } with a prefix starting with "/"`;
    }
    if (route.http !== undefined && !(str(route.http) && HTTP_BASE.test(route.http))) return `route ${JSON.stringify(r)}: "http" must be a base URL like http://127.0.0.1:8090`;
    if (route.http === undefined && i.http === null) return `route ${JSON.stringify(r)} has no "http" and neither has the node`;
  }
  return null;
}

/**
 * Checks a `hello`: well-formed, signed by the key it names, made for this connection's nonce
 * and recent. Whether the key is trusted is the seed's own decision, made afterwards.
 */
export function checkHello(msg: { intro?: unknown; sig?: unknown }, expectNonce: string, maxSkewMs: number, now = Date.now()): IntroCheck {
  if (!str(msg.intro) || msg.intro.length > 65536) return { ok: false, code: 'CHS_ERR_SEED_PROTOCOL', reason: '"intro" must be a JSON string of at most 64 KiB' };
  if (!str(msg.sig) || !/^[0-9a-f]{128}$/.test(msg.sig)) return { ok: false, code: 'CHS_ERR_SEED_PROTOCOL', reason: '"sig" must be an ed25519 signature, 128 hex digits' };
  let intro: unknown;
  try {
    intro = JSON.parse(msg.intro);
  } catch {
    return { ok: false, code: 'CHS_ERR_SEED_PROTOCOL', reason: '"intro" is not valid JSON' };
  }
  const bad = introShape(intro);
  if (bad) return { ok: false, code: 'CHS_ERR_SEED_PROTOCOL', reason: bad };
  const i = intro as Intro;
  if (!verifySignature(i.publicKey, Buffer.from(msg.intro, 'utf8'), Buffer.from(msg.sig, 'hex'))) {
    return { ok: false, code: 'CHS_ERR_SEED_SIGNATURE', reason: `the introduction is not signed by the key it names (${i.publicKey.slice(0, 16)}…)` };
  }
  if (i.nonce !== expectNonce) return { ok: false, code: 'CHS_ERR_SEED_REPLAY', reason: 'the introduction was not made for this connection (wrong challenge nonce)' };
  if (Math.abs(now - i.ts) > maxSkewMs) {
    return { ok: false, code: 'CHS_ERR_SEED_REPLAY', reason: `the introduction's timestamp is ${Math.round((now - i.ts) / 1000)} s off the seed's clock (more than ${maxSkewMs / 1000} s)` };
  }
  return { ok: true, intro: i };
}
