// What a 9P server was asked, by request type, and how many of those it answered with an error
// (Rerror/Rlerror): plain counters its owner reads (styx-root turns them into the node's metrics),
// so fs/ knows nothing of metrics. One typed-array increment per request.
import { MSG } from '../codec/index.ts';

const NAMES: string[] = [];
for (const [name, n] of Object.entries(MSG)) NAMES[n] = name;

export interface TypeCount {
  /** `Twalk`, `Tread`...; a byte no message has is `type-N`. */
  type: string;
  requests: number;
  errors: number;
}

export class NineStats {
  /** Requests received, by message type byte (Float64: exact far beyond 2^32). */
  readonly requests = new Float64Array(256);
  /** Requests answered with an error, by the request's type byte. */
  readonly errors = new Float64Array(256);

  request(type: number): void {
    this.requests[type & 0xff]! += 1;
  }

  /** `type`: the request's type byte or name (`Twalk`). */
  error(type: number | string): void {
    const n = typeof type === 'number' ? type : MSG[type as keyof typeof MSG];
    if (n !== undefined) this.errors[n & 0xff]! += 1;
  }

  /** Every type asked at least once (or answered with an error), in type order. */
  byType(): TypeCount[] {
    const out: TypeCount[] = [];
    for (let n = 0; n < 256; n++) {
      const requests = this.requests[n]!;
      const errors = this.errors[n]!;
      if (requests || errors) out.push({ type: NAMES[n] ?? `type-${n}`, requests, errors });
    }
    return out;
  }
}
