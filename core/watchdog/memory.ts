// The node's memory and event-loop delay figures, sampled in the main thread. Heap cannot be
// attributed to a module in-process (one V8 heap, no per-context accounting in Node 20): a warning
// names the node's figures only; isolating a module is a separate issue.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';

const MB = 1024 * 1024;
const round = (n: number) => Math.round(n * 10) / 10;

export class NodeFigures {
  private readonly delay: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  memory = { heapUsedMb: 0, heapTotalMb: 0, rssMb: 0 };
  private over = { heap: false, rss: false };

  constructor(private readonly log: Logger) {
    this.delay.enable();
  }

  /** One sample (~10 µs): process.memoryUsage(); warns once per crossing of a limit (0: none). */
  sample(limits: { heapMb: number; rssMb: number }): void {
    const m = process.memoryUsage();
    this.memory = { heapUsedMb: round(m.heapUsed / MB), heapTotalMb: round(m.heapTotal / MB), rssMb: round(m.rss / MB) };
    this.check('heap', this.memory.heapUsedMb, limits.heapMb);
    this.check('rss', this.memory.rssMb, limits.rssMb);
  }

  private check(kind: 'heap' | 'rss', mb: number, limit: number): void {
    if (limit > 0 && mb > limit && !this.over[kind]) {
      this.over[kind] = true;
      this.log.warn({ memory: this.memory }, `memory: ${kind} ${mb} MB is over the watchdog limit of ${limit} MB (heap ${this.memory.heapUsedMb} MB used, RSS ${this.memory.rssMb} MB; per-module heap cannot be measured in-process)`);
    } else if (this.over[kind] && (limit <= 0 || mb < limit * 0.9)) {
      this.over[kind] = false;
    }
  }

  loopDelayMs(): { p50: number; p90: number; p99: number; max: number } {
    const ms = (ns: number) => round(ns / 1e6);
    return { p50: ms(this.delay.percentile(50)), p90: ms(this.delay.percentile(90)), p99: ms(this.delay.percentile(99)), max: ms(this.delay.max) };
  }

  close(): void {
    this.delay.disable();
  }
}
