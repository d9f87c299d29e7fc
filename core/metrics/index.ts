// The node's metrics (Prometheus text through prom-client): one Registry per host — never the
// global one, so several hosts in one process do not collide — holding the node's own metrics
// (instances.ts, process.ts) and the families modules register through ctx.metrics (scope.ts).
import { Registry } from 'prom-client';
import type { NodeStatus, ReloadEvent } from '../types.ts';
import { InstanceMetrics } from './instances.ts';
import { processMetrics } from './process.ts';
import { MetricsScope, ModuleFamilies } from './scope.ts';

export { MetricsScope } from './scope.ts';
export { INSTANCE_LABEL } from './names.ts';

export interface MetricsHost {
  status(): NodeStatus;
  onReload(fn: (e: ReloadEvent) => void): () => void;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly modules = new ModuleFamilies(this.registry);
  private readonly instances: InstanceMetrics;
  private readonly offReload: () => void;
  /** The status of the scrape in progress: every collect() of one scrape reads the same one. */
  private snapshot: NodeStatus | null = null;

  constructor(private readonly host: MetricsHost) {
    const status = () => this.snapshot ?? host.status();
    this.instances = new InstanceMetrics(this.registry, status);
    processMetrics(this.registry, status);
    this.offReload = host.onReload((e) => this.instances.reloaded(e));
  }

  /** ctx.metrics of a new incarnation of `id`; its release() removes what it registered. */
  scope(id: string): MetricsScope {
    return new MetricsScope(id, this.modules);
  }

  /** An instance crashed (it went to backoff or failed). */
  crashed(id: string): void {
    this.instances.crashed(id);
  }

  /** The exposition (text format 0.0.4) and its content type. */
  async text(): Promise<{ contentType: string; text: string }> {
    this.snapshot = this.host.status();
    try {
      return { contentType: this.registry.contentType, text: await this.registry.metrics() };
    } finally {
      this.snapshot = null;
    }
  }

  /** Stops listening to the reload timeline. Idempotent. */
  close(): void {
    this.offReload();
  }
}
