// The DHT node's figures as the node's metrics (ctx.metrics; `module` is dht or mainline-dht),
// read from its stats at each scrape. Query names come off the wire: only the KRPC ones are
// labels, anything else counts as `other`, so a peer cannot grow the label set.
import type { ModuleContext } from 'cheshire/sdk';
import type { DhtService } from './types.ts';

const KRPC = new Set(['ping', 'find_node', 'get_peers', 'announce_peer', 'get', 'put']);

function byQuery(counts: Record<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [q, n] of Object.entries(counts)) {
    const k = KRPC.has(q) ? q : 'other';
    out.set(k, (out.get(k) ?? 0) + n);
  }
  return out;
}

export function dhtMetrics(ctx: ModuleContext<any>, svc: DhtService, dropped: () => number): void {
  const m = ctx.metrics;
  m.gauge({ name: 'cheshire_dht_nodes', help: 'Nodes in the DHT routing table', collect() { this.set(svc.nodes().length); } });
  m.gauge({ name: 'cheshire_dht_exports', help: 'Exports this node announces in the DHT', collect() { this.set(svc.exports().length); } });
  m.gauge({ name: 'cheshire_dht_stored_values', help: 'BEP 44 values the DHT node stores for others and itself', collect() { this.set(svc.stats().storedValues); } });
  const queries = (name: string, help: string, pick: (s: ReturnType<DhtService['stats']>) => Record<string, number>) =>
    m.counter({
      name, help, labelNames: ['query'],
      collect() {
        this.reset();
        for (const [query, n] of byQuery(pick(svc.stats()))) this.inc({ query }, n);
      },
    });
  queries('cheshire_dht_queries_sent_total', 'KRPC queries sent, by query', (s) => s.queriesSent);
  queries('cheshire_dht_queries_received_total', 'KRPC queries received, by query (unknown ones as other)', (s) => s.queriesReceived);
  m.counter({
    name: 'cheshire_dht_operations_total', help: 'DHT operations (bootstrap, put, get, announce, lookup) by outcome', labelNames: ['op', 'outcome'],
    collect() {
      this.reset();
      for (const [op, r] of Object.entries(svc.stats().ops)) {
        this.inc({ op, outcome: 'ok' }, r.ok);
        this.inc({ op, outcome: 'failed' }, r.failed);
      }
    },
  });
  m.counter({
    name: 'cheshire_dht_refused_total', help: 'BEP 44 items and KRPC queries refused (forged, tampered, stale, oversized, malformed), by reason', labelNames: ['reason'],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(svc.stats().refused)) this.inc({ reason }, n);
    },
  });
  m.counter({ name: 'cheshire_dht_dropped_datagrams_total', help: 'Datagrams the address policy kept from being sent', collect() { this.reset(); this.inc(dropped()); } });
}
