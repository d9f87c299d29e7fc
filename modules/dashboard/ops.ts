// /healthz and /metrics: the host's health checks and Prometheus registry (ctx.host.health(),
// ctx.host.metrics()), served on the dashboard's port for whatever scrapes or probes the node.
// /healthz answers 200 when every instance's last check passed and 503 otherwise, with the
// per-instance results as JSON; /healthz/ID is one instance's (404 for an unknown one: the host's
// CHS_ERR_INSTANCE_NOT_FOUND).
import type { ServerResponse } from 'node:http';
import type { HostControl } from 'cheshire/sdk';
import { sendJson, sendText } from './http-util.ts';

export function healthz(host: HostControl, res: ServerResponse, id: string | null): void {
  const results = id === null ? host.health() : host.health(id);
  const ok = results.every((r) => r.ok);
  sendJson(res, ok ? 200 : 503, id === null ? { ok, results } : { ok, result: results[0] ?? null });
}

export async function metrics(host: HostControl, res: ServerResponse): Promise<void> {
  const m = await host.metrics();
  sendText(res, 200, m.text, m.contentType);
}
