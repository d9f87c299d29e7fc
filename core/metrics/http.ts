// The node's one HTTP metric, shared by every module that answers HTTP (hello, proxy, fileserver,
// yours): `cheshire_http_requests_total{module, route, status}` through ctx.metrics, so all of them
// land in one family. `route` must be a bounded name (a route pattern), never the raw path.
import type { ServerResponse } from 'node:http';
import type { Counter } from 'prom-client';
import type { ModuleMetrics } from '../types.ts';

export const HTTP_REQUESTS = 'cheshire_http_requests_total';
export type HttpRequestLabels = 'route' | 'status';

export interface HttpRequests {
  readonly counter: Counter<HttpRequestLabels>;
  /** Counts `res` under `route` once it is done (finished or cut off), with the status it had. */
  count(res: ServerResponse, route: string): void;
}

/** Registers the HTTP request counter for this incarnation (call once per start). */
export function httpRequests(ctx: { readonly metrics: ModuleMetrics }): HttpRequests {
  const counter = ctx.metrics.counter<HttpRequestLabels>({
    name: HTTP_REQUESTS,
    help: 'HTTP requests answered, by module, route and status',
    labelNames: ['route', 'status'],
  });
  return {
    counter,
    count(res, route) {
      res.once('close', () => counter.inc({ route, status: res.statusCode }));
    },
  };
}
