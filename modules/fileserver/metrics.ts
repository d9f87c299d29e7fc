// The fileserver's requests in the node's HTTP metric (cheshire_http_requests_total{module, route,
// status}). The fast lane answers in a few microseconds, so a request is tallied in a plain map
// (route: `static` for /static/..., `upload`, else `app`) and the counter reads it at the scrape.
import { HTTP_REQUESTS, type ModuleContext } from 'cheshire/sdk';

/** The fileserver's own request counters (shared by its HTTP paths; read at scrape time). */
export interface HttpStats {
  requests: number;
  notModified: number;
  uploads: number;
  uploadFailures: number;
  uploadBytes: number;
}

const tallies = new WeakMap<HttpStats, Map<string, number>>();

export const routeOf = (target: string): string => (target.startsWith('/static/') ? 'static' : 'app');

export function countHttp(stats: HttpStats, route: string, status: number): void {
  let t = tallies.get(stats);
  if (!t) tallies.set(stats, (t = new Map()));
  const key = `${route} ${status}`;
  t.set(key, (t.get(key) ?? 0) + 1);
}

export function fileserverMetrics(ctx: ModuleContext<any>, stats: HttpStats): void {
  ctx.metrics.counter({
    name: HTTP_REQUESTS, help: 'HTTP requests answered, by module, route and status', labelNames: ['route', 'status'],
    collect() {
      this.reset();
      for (const [key, n] of tallies.get(stats) ?? []) {
        const [route, status] = key.split(' ') as [string, string];
        this.inc({ route, status }, n);
      }
    },
  });
}
