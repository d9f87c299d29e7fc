// The node's reload timeline: every reload or restart of an instance, with what set it off,
// whether new code was swapped in or the same code started again, how long it took and how it
// ended. A bounded ring (the dashboard, the metrics and the 9P tree read it; nothing is written
// to disk: the version history and the log files keep the long record).
import { EventEmitter } from 'node:events';
import type { ErrorInfo, ReloadEvent, ReloadTrigger } from './types.ts';

/** Entries kept (oldest dropped first). */
export const TIMELINE_SIZE = 500;

export interface TimelineInput {
  id: string;
  module: string;
  trigger: ReloadTrigger;
  kind: ReloadEvent['kind'];
  ms: number;
  outcome: ReloadEvent['outcome'];
  version: string;
  hash: string | null;
  error?: ErrorInfo | null;
}

export class ReloadTimeline extends EventEmitter<{ entry: [ReloadEvent] }> {
  private readonly ring: ReloadEvent[] = [];
  private seq = 0;

  constructor(private readonly size = TIMELINE_SIZE) {
    super();
    this.setMaxListeners(0);
  }

  add(input: TimelineInput): ReloadEvent {
    const e: ReloadEvent = { seq: ++this.seq, at: new Date().toISOString(), ...input, ms: Math.round(input.ms), error: input.error ?? null };
    this.ring.push(e);
    if (this.ring.length > this.size) this.ring.splice(0, this.ring.length - this.size);
    this.emit('entry', e);
    return e;
  }

  /** Oldest first; one instance's entries when `id` is given. */
  list(id?: string): ReloadEvent[] {
    return id === undefined ? [...this.ring] : this.ring.filter((e) => e.id === id);
  }

  subscribe(fn: (e: ReloadEvent) => void): () => void {
    this.on('entry', fn);
    return () => this.off('entry', fn);
  }
}
