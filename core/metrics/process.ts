// The node's process-wide metrics: what it is, failsafe, event-loop delay and stalls (from the
// watchdog's status), and memory (process.memoryUsage() at the scrape: one V8 heap, so none of it
// can be attributed to a module in-process).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { NodeStatus } from '../types.ts';

const QUANTILES = [['0.5', 'p50'], ['0.9', 'p90'], ['0.99', 'p99'], ['1', 'max']] as const;

export function processMetrics(registry: Registry, status: () => NodeStatus): void {
  const registers = [registry];
  new Gauge({
    name: 'cheshire_node_info', help: 'Always 1; the node\'s name, role and host version as labels', labelNames: ['node', 'role', 'version'], registers,
    collect() {
      const st = status();
      this.reset();
      this.set({ node: st.node, role: st.role, version: st.versions?.cheshire ?? 'unknown' }, 1);
    },
  });
  new Gauge({
    name: 'cheshire_failsafe', help: 'Whether the node runs in failsafe mode (its configured start-up failed)', registers,
    collect() { this.set(status().failsafe ? 1 : 0); },
  });
  new Gauge({
    name: 'cheshire_event_loop_delay_seconds', help: 'Event-loop delay since the node started (the watchdog\'s perf_hooks histogram), by quantile (1 = max)', labelNames: ['quantile'], registers,
    collect() {
      const w = status().watchdog;
      this.reset();
      if (w) for (const [q, k] of QUANTILES) this.set({ quantile: q }, w.loopDelayMs[k] / 1000);
    },
  });
  new Counter({
    name: 'cheshire_event_loop_stalls_total', help: 'Stalls of the event loop over watchdog.blockedMs', registers,
    collect() {
      this.reset();
      this.inc(status().watchdog?.stalls ?? 0);
    },
  });
  const memory = (name: string, help: string, key: 'heapUsed' | 'heapTotal' | 'rss') =>
    new Gauge({ name, help, registers, collect() { this.set(process.memoryUsage()[key]); } });
  memory('cheshire_heap_used_bytes', 'V8 heap in use by the whole node (all modules share one heap)', 'heapUsed');
  memory('cheshire_heap_total_bytes', 'V8 heap allocated by the whole node', 'heapTotal');
  memory('cheshire_resident_memory_bytes', 'Resident set size of the node\'s process', 'rss');
}
