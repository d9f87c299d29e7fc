// The 9P server's counters as the node's metrics: requests and error answers by message type
// (read from the server's own counters at each scrape, so they keep counting across reloads:
// the server is handed from version to version) and open connections.
import type { ModuleContext, NineServer } from 'cheshire/sdk';

export function nineMetrics(ctx: ModuleContext<any>, server: NineServer): void {
  ctx.metrics.counter({
    name: 'cheshire_9p_requests_total', help: '9P requests received by the node\'s tree, by message type', labelNames: ['type'],
    collect() {
      this.reset();
      for (const t of server.stats.byType()) if (t.requests) this.inc({ type: t.type }, t.requests);
    },
  });
  ctx.metrics.counter({
    name: 'cheshire_9p_errors_total', help: '9P requests of the node\'s tree answered with an error (Rerror/Rlerror), by message type', labelNames: ['type'],
    collect() {
      this.reset();
      for (const t of server.stats.byType()) if (t.errors) this.inc({ type: t.type }, t.errors);
    },
  });
  ctx.metrics.gauge({
    name: 'cheshire_9p_connections', help: 'Open 9P connections to the node\'s tree',
    collect() { this.set(server.connections); },
  });
}
