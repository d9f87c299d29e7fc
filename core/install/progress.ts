// Install progress: the phases an install goes through, and a tiny renderer for them — one line
// redrawn in place on a terminal (phase, bar and bytes), plain lines, one per phase, otherwise.
export type InstallPhase = 'resolve' | 'fetch' | 'extract' | 'verify' | 'deps' | 'store' | 'done';

export interface InstallProgress {
  phase: InstallPhase | (string & {});
  /** Bytes so far (fetch), when known. */
  done?: number;
  total?: number;
}

export interface ProgressPrinter {
  (p: InstallProgress): void;
  /** Ends the drawn line (call once the install settled). */
  end(): void;
}

const REDRAW_MS = 80;
const BAR = 24;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function progressPrinter(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): ProgressPrinter {
  const tty = stream.isTTY === true;
  let phase = '';
  let lastDraw = 0;
  let drawn = false;
  let last: InstallProgress | undefined;
  const bytes = (p: InstallProgress) => (p.done === undefined ? '' : p.total ? `${formatBytes(p.done)} / ${formatBytes(p.total)}` : formatBytes(p.done));
  const line = (p: InstallProgress): string => {
    let bar = '';
    if (p.total && p.done !== undefined) {
      const full = Math.min(BAR, Math.round((p.done / p.total) * BAR));
      bar = `[${'#'.repeat(full)}${'-'.repeat(BAR - full)}] `;
    }
    const text = `${p.phase.padEnd(8)} ${bar}${bytes(p)}`.trimEnd();
    return stream.columns ? text.slice(0, stream.columns - 1) : text;
  };
  const print = ((p: InstallProgress) => {
    const changed = p.phase !== phase;
    if (tty) {
      const now = Date.now();
      if (!changed && now - lastDraw < REDRAW_MS) return;
      lastDraw = now;
      stream.write(`\r\x1b[K${line(p)}`);
      drawn = true;
    } else if (changed) {
      // the bytes a phase moved are known when it ends
      if (last?.done !== undefined) stream.write(`${last.phase} ${bytes(last)}\n`);
      if (p.phase !== 'done') stream.write(`${p.phase}\n`);
    }
    phase = p.phase;
    last = p;
  }) as ProgressPrinter;
  print.end = () => {
    if (tty && drawn) stream.write('\r\x1b[K');
    drawn = false;
  };
  return print;
}
