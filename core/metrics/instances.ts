// The node's own metrics about its instances: state, health, crashes, restarts, and the reload
// timeline (count by outcome, hot swap or restart, and trigger; duration). `module` is the
// instance id throughout, as on the metrics modules register themselves.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { InstanceState, NodeStatus, ReloadEvent } from '../types.ts';

const STATES: InstanceState[] = ['planned', 'waiting', 'starting', 'active', 'stopping', 'stopped', 'backoff', 'failed'];
/** Seconds; a hot reload of a small module is tens of ms, a restart with tests or a type check seconds. */
const RELOAD_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class InstanceMetrics {
  private readonly crashes: Counter<'module'>;
  private readonly reloads: Counter<'module' | 'outcome' | 'kind' | 'trigger'>;
  private readonly reloadSeconds: Histogram<'module' | 'kind'>;

  constructor(registry: Registry, status: () => NodeStatus) {
    const registers = [registry];
    new Gauge({
      name: 'cheshire_instance_state', help: 'Whether the instance is in the state (1) or not (0), one series per state', labelNames: ['module', 'state'], registers,
      collect() {
        this.reset();
        for (const i of status().instances) for (const s of STATES) this.set({ module: i.id, state: s }, i.state === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cheshire_instance_healthy', help: 'Latest health of the instance: its health(ctx) check, or whether it is active when it exports none (1 ok, 0 not)', labelNames: ['module'], registers,
      collect() {
        this.reset();
        for (const i of status().instances) this.set({ module: i.id }, i.health?.ok ? 1 : 0);
      },
    });
    new Counter({
      name: 'cheshire_instance_restarts_total', help: 'Restarts of the instance after a crash (backoff), since the node booted its current set', labelNames: ['module'], registers,
      collect() {
        this.reset();
        for (const i of status().instances) this.inc({ module: i.id }, i.restarts);
      },
    });
    this.crashes = new Counter({ name: 'cheshire_instance_crashes_total', help: 'Crashes of the instance (a throw in start or later, a stall): each ends in backoff or failed', labelNames: ['module'], registers });
    this.reloads = new Counter({
      name: 'cheshire_reloads_total', help: 'Reloads and restarts of instances (the reload timeline) by outcome, kind (hot: new code; restart: same code) and trigger',
      labelNames: ['module', 'outcome', 'kind', 'trigger'], registers,
    });
    this.reloadSeconds = new Histogram({
      name: 'cheshire_reload_duration_seconds', help: 'From what set a reload off to its outcome', labelNames: ['module', 'kind'], buckets: RELOAD_BUCKETS, registers,
    });
  }

  crashed(id: string): void {
    this.crashes.inc({ module: id });
  }

  reloaded(e: ReloadEvent): void {
    this.reloads.inc({ module: e.id, outcome: e.outcome, kind: e.kind, trigger: e.trigger });
    this.reloadSeconds.observe({ module: e.id, kind: e.kind }, e.ms / 1000);
  }
}
