// One metric name in the node's registry that instances register through ctx.metrics. Each
// instance's metric is a plain prom-client object kept out of every registry; the family is what
// the registry holds, and at a scrape it reads every member and adds the `module` label, so
// several instances (and the next version of one) share the name without colliding.
import type { Counter, Gauge, Histogram } from 'prom-client';
import { INSTANCE_LABEL, labelKey, type MetricKind } from './names.ts';

export type Member = Counter<string> | Gauge<string> | Histogram<string>;

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export class Family {
  /** What prom-client's registry reads besides get(): how a cluster would merge it. */
  readonly aggregator = 'sum';
  private readonly members = new Map<string, Member>();
  readonly labels: string;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricKind,
    labelNames: readonly string[] | undefined,
  ) {
    this.labels = labelKey(labelNames);
  }

  get size(): number {
    return this.members.size;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  /** Why an instance cannot join with this type and these labels, or null. */
  conflict(type: MetricKind, labelNames: readonly string[] | undefined): string | null {
    if (type !== this.type) return `it is a ${this.type} here (registered by ${[...this.members.keys()].join(', ')})`;
    const want = labelKey(labelNames);
    if (want !== this.labels) return `its label names are [${this.labels}] here (registered by ${[...this.members.keys()].join(', ')}), not [${want}]`;
    return null;
  }

  add(id: string, metric: Member): void {
    this.members.set(id, metric);
  }

  /** Drops `id`'s metric if it is still `metric` (a later registration of the same id is kept). */
  delete(id: string, metric: Member): void {
    if (this.members.get(id) === metric) this.members.delete(id);
  }

  /** The family as prom-client's registry formats it: every member's samples, labelled with its instance. */
  async get(): Promise<{ name: string; help: string; type: MetricKind; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    const all = await Promise.all([...this.members].map(async ([id, m]) => [id, await m.get()] as const));
    for (const [id, got] of all) {
      for (const v of got.values as Sample[]) values.push({ ...v, labels: { [INSTANCE_LABEL]: id, ...v.labels } });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const m of this.members.values()) m.reset();
  }
}
