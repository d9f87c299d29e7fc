// A log for refusals an attacker can provoke at will: one line per reason at most once per
// interval, with a count of what was held back, so a flood of bad peers cannot flood the log.

/** Logs a line per reason at most once per interval, counting what it held back in between. */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; held: number }>();

  constructor(private readonly write: ((line: string) => void) | undefined, private readonly intervalMs: number) {}

  say(reason: string, line: string, now = Date.now()): void {
    if (!this.write) return;
    const held = this.due(reason, now);
    if (held === null) return;
    try {
      this.write(withHeld(line, held));
    } catch { /* a logging hook must not take the server down */ }
  }

  /**
   * Whether a line for `reason` may be written now: null if not (it is counted), else how many
   * were held back since the last one (for callers that write the line themselves, withHeld()).
   */
  due(reason: string, now = Date.now()): number | null {
    const s = this.last.get(reason);
    if (s && now - s.at < this.intervalMs) { s.held++; return null; }
    this.last.set(reason, { at: now, held: 0 });
    return s?.held ?? 0;
  }
}

/** `line`, with the count of like lines held back since the last report when there were any. */
export function withHeld(line: string, held: number): string {
  return held > 0 ? `${line} (and ${held} more like it since the last report)` : line;
}
