// ctx.metrics inside an isolate: a stand-in with prom-client's call shapes whose registrations
// and updates are posted to the host, which applies them to the node's registry (./host.ts).
import type { MetricMsg } from './protocol.ts';

/** ctx.metrics in an isolate: each metric is registered in the host's registry and every update posted there. */
export function metricsProxy(post: (m: MetricMsg) => void, unsupported: (member: string) => Error): object {
  const make = (kind: MetricMsg['kind']) => (config: Record<string, unknown>) => {
    const name = String(config.name);
    const plain: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) if (typeof v !== 'function') plain[k] = v;
    post({ t: 'metric', kind, op: 'register', name, config: plain });
    const names = (config.labelNames as string[] | undefined) ?? [];
    const bound = (labels?: Record<string, string | number>) => {
      const send = (op: MetricMsg['op'], value?: number, extra?: Record<string, string | number>) =>
        post({ t: 'metric', kind, op, name, ...(labels || extra ? { labels: { ...extra, ...labels } } : {}), ...(value !== undefined ? { value } : {}) });
      const obj: Record<string, unknown> = {
        // prom-client's shapes: inc(value?) / inc(labels, value?).
        inc: (a?: number | Record<string, string | number>, b?: number) => typeof a === 'object' ? send('inc', b, a) : send('inc', a),
        dec: (a?: number | Record<string, string | number>, b?: number) => typeof a === 'object' ? send('dec', b, a) : send('dec', a),
        set: (a: number | Record<string, string | number>, b?: number) => typeof a === 'object' ? send('set', b, a) : send('set', a),
        observe: (a: number | Record<string, string | number>, b?: number) => typeof a === 'object' ? send('observe', b, a) : send('observe', a),
        reset: () => send('reset'),
      };
      if (!labels) {
        obj.labels = (...values: Array<string | number | Record<string, string | number>>) =>
          bound(typeof values[0] === 'object' ? values[0] : Object.fromEntries(names.map((n, i) => [n, values[i] as string | number])));
      }
      return new Proxy(obj, {
        get(t, prop) {
          if (typeof prop === 'symbol' || prop in t) return (t as Record<string | symbol, unknown>)[prop];
          if (prop === 'then') return undefined;
          throw unsupported(`ctx.metrics ${kind}.${prop}`);
        },
      });
    };
    return bound();
  };
  return { counter: make('counter'), gauge: make('gauge'), histogram: make('histogram') };
}
