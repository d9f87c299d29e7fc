// ctx.metrics of one incarnation: registers the module's metrics into the node's registry (as
// members of shared families, family.ts) and takes every one of them out again when the
// incarnation stops, so a reload neither leaks a metric nor collides with its own next version.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { chsError } from '../errors.ts';
import type { ModuleMetrics } from '../types.ts';
import { Family, type Member } from './family.ts';
import { checkShape, type MetricKind, type MetricShape } from './names.ts';

/** The families module metrics form in one registry (one per host). */
export class ModuleFamilies {
  private readonly families = new Map<string, Family>();

  constructor(private readonly registry: Registry) {}

  /** Families in the registry now (for tests and status). */
  get size(): number {
    return this.families.size;
  }

  /** Adds `metric` under `id` to the family of its name, creating the family; throws CHS_ERR_METRIC_CONFLICT. */
  join(id: string, kind: MetricKind, shape: MetricShape, metric: Member): Family {
    let f = this.families.get(shape.name);
    const clash = (why: string) => chsError('CHS_ERR_METRIC_CONFLICT', `${id}: ctx.metrics.${kind}("${shape.name}"): ${why}`);
    if (!f) {
      if (this.registry.getSingleMetric(shape.name)) throw clash('the name is one of the node\'s own metrics');
      f = new Family(shape.name, shape.help, kind, shape.labelNames);
      this.families.set(shape.name, f);
      // prom-client's registry only reads name, type, help, aggregator, get() and reset() of what it holds.
      this.registry.registerMetric(f as unknown as Counter<string>);
    } else {
      if (f.has(id)) throw clash(`${id} registered it already (register a metric once per start and keep the object)`);
      const why = f.conflict(kind, shape.labelNames);
      if (why) throw clash(why);
    }
    f.add(id, metric);
    return f;
  }

  leave(f: Family, id: string, metric: Member): void {
    f.delete(id, metric);
    if (f.size === 0 && this.families.get(f.name) === f) {
      this.families.delete(f.name);
      this.registry.removeSingleMetric(f.name);
    }
  }
}

type Make = (config: Record<string, unknown>) => Member;
const makers: Record<MetricKind, Make> = {
  counter: (c) => new Counter({ ...(c as { name: string; help: string }), registers: [] }),
  gauge: (c) => new Gauge({ ...(c as { name: string; help: string }), registers: [] }),
  histogram: (c) => new Histogram({ ...(c as { name: string; help: string }), registers: [] }),
};

export class MetricsScope {
  readonly api: ModuleMetrics;
  private readonly joined: Array<{ family: Family; metric: Member }> = [];
  private released = false;

  constructor(private readonly id: string, private readonly families: ModuleFamilies) {
    const make = (kind: MetricKind) => (config: object) => this.make(kind, config as MetricShape & Record<string, unknown>);
    this.api = { counter: make('counter'), gauge: make('gauge'), histogram: make('histogram') } as ModuleMetrics;
  }

  private make(kind: MetricKind, config: MetricShape & Record<string, unknown>): Member {
    checkShape(this.id, kind, config);
    const { registers: _r, aggregator: _a, enableExemplars: _e, ...rest } = config;
    let metric: Member;
    try {
      metric = makers[kind](rest);
    } catch (err) {
      throw chsError('CHS_ERR_METRIC_INVALID', `${this.id}: ctx.metrics.${kind}("${config.name}"): ${(err as Error).message}`);
    }
    // A stopped incarnation's late registration gets a working metric nobody scrapes: never a leak.
    if (this.released) return metric;
    this.joined.push({ family: this.families.join(this.id, kind, config, metric), metric });
    return metric;
  }

  /** Takes every metric of this incarnation out of the registry. Idempotent. */
  release(): void {
    this.released = true;
    for (const { family, metric } of this.joined.splice(0)) this.families.leave(family, this.id, metric);
  }
}
