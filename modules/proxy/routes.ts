// The proxy's routing table: Host (exact, `*.suffix`, or `*`) and the longest path prefix choose a
// route; a route spreads requests round-robin over its nodes, skipping those that failed recently.
// Targets outlive table updates, so a node's recent failure is remembered across directory pushes.

export interface Target {
  /** `host:port`. */
  key: string;
  host: string;
  port: number;
  /** Node name (for messages), or the address. */
  name: string;
  /** Until when (ms since epoch) it is skipped after a failure. */
  failedUntil: number;
}

export interface RouteSpec {
  host: string;
  prefix: string;
  nodes: Array<{ node: string; http: string }>;
}

export interface Route {
  host: string;
  prefix: string;
  targets: Target[];
  rr: number;
}

function parseHttp(url: string): { host: string; port: number } | null {
  const m = /^http:\/\/(\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/.exec(url);
  if (!m) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 80 };
}

const byPrefix = (a: Route, b: Route) => b.prefix.length - a.prefix.length;

export class RouteTable {
  private exact = new Map<string, Route[]>();
  private suffix: Array<{ suffix: string; routes: Route[] }> = [];
  private any: Route[] = [];
  private readonly targets = new Map<string, Target>();
  private all: Route[] = [];

  /** Replaces the routes (the seed's directory plus static ones). */
  update(specs: RouteSpec[]): void {
    const exact = new Map<string, Route[]>();
    const suffix = new Map<string, Route[]>();
    const any: Route[] = [];
    const merged = new Map<string, Route>();
    const live = new Set<string>();
    for (const s of specs) {
      const host = s.host.toLowerCase();
      const id = `${host}\0${s.prefix}`;
      let route = merged.get(id);
      if (!route) {
        route = { host, prefix: s.prefix, targets: [], rr: 0 };
        merged.set(id, route);
        if (host === '*') any.push(route);
        else if (host.startsWith('*.')) {
          const list = suffix.get(host.slice(1)) ?? [];
          list.push(route);
          suffix.set(host.slice(1), list);
        } else {
          const list = exact.get(host) ?? [];
          list.push(route);
          exact.set(host, list);
        }
      }
      for (const n of s.nodes) {
        const addr = parseHttp(n.http);
        if (!addr) continue;
        const key = `${addr.host}:${addr.port}`;
        live.add(key);
        let t = this.targets.get(key);
        if (!t) this.targets.set(key, (t = { key, host: addr.host, port: addr.port, name: n.node, failedUntil: 0 }));
        t.name = n.node;
        if (!route.targets.includes(t)) route.targets.push(t);
      }
    }
    for (const key of this.targets.keys()) if (!live.has(key)) this.targets.delete(key);
    for (const list of exact.values()) list.sort(byPrefix);
    for (const list of suffix.values()) list.sort(byPrefix);
    any.sort(byPrefix);
    this.exact = exact;
    this.suffix = [...suffix].map(([s, routes]) => ({ suffix: s, routes })).sort((a, b) => b.suffix.length - a.suffix.length);
    this.any = any;
    this.all = [...merged.values()];
  }

  routes(): readonly Route[] { return this.all; }

  /** The route for a host name (lowercase, no port) and request target. */
  match(hostname: string, target: string): Route | null {
    const list = this.exact.get(hostname);
    if (list) {
      const r = matchPrefix(list, target);
      if (r) return r;
    }
    for (const s of this.suffix) {
      if (hostname.endsWith(s.suffix)) {
        const r = matchPrefix(s.routes, target);
        if (r) return r;
      }
    }
    return matchPrefix(this.any, target);
  }

  /** The next target of a route, skipping `exclude` and (while others are fine) failed ones. */
  pick(route: Route, exclude: Target | null = null, now = Date.now()): Target | null {
    const ts = route.targets;
    const n = ts.length;
    let fallback: Target | null = null;
    for (let k = 0; k < n; k++) {
      const i = (route.rr + k) % n;
      const t = ts[i]!;
      if (t === exclude) continue;
      if (t.failedUntil <= now) {
        route.rr = (i + 1) % n;
        return t;
      }
      if (!fallback || t.failedUntil < fallback.failedUntil) fallback = t;
    }
    return fallback;
  }
}

function matchPrefix(list: Route[], target: string): Route | null {
  for (const r of list) {
    const p = r.prefix;
    if (!target.startsWith(p)) continue;
    if (p.endsWith('/') || target.length === p.length) return r;
    const c = target.charCodeAt(p.length);
    if (c === 47 /* / */ || c === 63 /* ? */) return r;
  }
  return null;
}
