// What a metric a module registers through ctx.metrics may be called: Prometheus' name and label
// grammar, checked here so a mistake is a CHS_ERR_METRIC_INVALID naming the instance and the
// metric rather than prom-client's bare Error. The label `module` is the host's own.
import { chsError } from '../errors.ts';

/** The label every module-owned sample carries: the instance id (`hello`, `styx-provider#home`). */
export const INSTANCE_LABEL = 'module';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export type MetricKind = 'counter' | 'gauge' | 'histogram';

export interface MetricShape {
  name: string;
  help: string;
  labelNames?: readonly string[];
}

/** Throws CHS_ERR_METRIC_INVALID unless `c` is a metric a module may register. */
export function checkShape(id: string, kind: MetricKind, c: MetricShape): void {
  const bad = (what: string) => chsError('CHS_ERR_METRIC_INVALID', `${id}: ctx.metrics.${kind}(${JSON.stringify(c?.name)}): ${what}`);
  if (typeof c !== 'object' || c === null) throw bad('expected { name, help, labelNames? }');
  if (typeof c.name !== 'string' || !NAME.test(c.name)) throw bad('the name must match [a-zA-Z_:][a-zA-Z0-9_:]*');
  if (typeof c.help !== 'string' || c.help.trim() === '') throw bad('"help" must be a non-empty string');
  const labels = c.labelNames ?? [];
  if (!Array.isArray(labels)) throw bad('"labelNames" must be an array of label names');
  const seen = new Set<string>();
  for (const l of labels) {
    if (typeof l !== 'string' || !LABEL.test(l) || l.startsWith('__')) throw bad(`label ${JSON.stringify(l)} must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __`);
    if (l === INSTANCE_LABEL) throw bad(`the label "${INSTANCE_LABEL}" is the host's (it carries the instance id); name yours otherwise`);
    if (kind === 'histogram' && l === 'le') throw bad('the label "le" is reserved for histogram buckets');
    if (seen.has(l)) throw bad(`label "${l}" is named twice`);
    seen.add(l);
  }
}

/** Label names as a comparable key (order does not matter to the exposition). */
export function labelKey(labels: readonly string[] | undefined): string {
  return [...(labels ?? [])].sort().join(',');
}
