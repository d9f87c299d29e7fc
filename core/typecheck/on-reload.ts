// What a module's `typecheck` policy means for a reload. `refuse`: the new code is checked before
// it is activated, and type errors fail the reload (the old version keeps serving). `warn` (the
// default): the reload goes ahead at once and the check runs afterwards in the checker's worker,
// its findings logged as warnings naming file:line:column. The warm checker holds ~200 MB, so
// it is closed after `idleMs` without a check; the next one starts it again (~2 s).
import type { Logger } from 'pino';
import { chsError } from '../errors.ts';
import type { Descriptor } from '../types.ts';
import { TypeChecker } from './checker.ts';
import { formatDiagnostic } from './index.ts';
import type { TypeReport } from './types.ts';

/** Diagnostics printed per check; the rest are counted. */
const SHOWN = 10;
/** Quiet time after a module's last new version before its warn-check starts. */
const SETTLE_MS = 300;

export class ReloadTypecheck {
  private checker: TypeChecker | null = null;
  private idle: NodeJS.Timeout | null = null;
  private closed = false;
  /** Per module folder: the settle timer of its next warn-check. */
  private readonly waiting = new Map<string, NodeJS.Timeout>();

  constructor(private readonly opts: { enabled: () => boolean; idleMs: () => number }) {}

  /** Before activation: throws CHS_ERR_MODULE_TYPECHECK when the policy is `refuse` and the code has type errors. */
  async before(desc: Descriptor): Promise<void> {
    if (desc.typecheck !== 'refuse' || !this.opts.enabled()) return;
    const report = await this.check(desc);
    if (report.status === 'superseded') throw chsError('CHS_ERR_MODULE_TYPECHECK', `${desc.name}: a newer save overtook this version before its type check finished`);
    if (report.status === 'timeout') throw chsError('CHS_ERR_MODULE_TYPECHECK', `${desc.name}: the type check did not finish in time`);
    if (report.status === 'checked' && report.diagnostics.length) {
      throw chsError('CHS_ERR_MODULE_TYPECHECK', `${desc.name}: ${report.diagnostics.length} type error(s), reload refused:\n${lines(report)}`);
    }
  }

  /**
   * After activation, never awaited by the reload: once the module has had no new version for
   * SETTLE_MS, its type errors are logged as warnings on `log`. The wait keeps the checker (a
   * core's worth of CPU for ~50 ms, seconds when cold) out of a burst of saves: in a tight reload
   * loop on 2 cores, checking every version made host.reload() ~3x slower (5.8 -> 16-18 ms median,
   * bench/reload-memory.ts).
   */
  after(desc: Descriptor, log: Logger): void {
    if (desc.typecheck !== 'warn' || !this.opts.enabled() || this.closed) return;
    clearTimeout(this.waiting.get(desc.dir));
    const t = setTimeout(() => {
      this.waiting.delete(desc.dir);
      this.warn(desc, log);
    }, SETTLE_MS);
    t.unref();
    this.waiting.set(desc.dir, t);
  }

  private warn(desc: Descriptor, log: Logger): void {
    this.check(desc).then(
      (report) => {
        if (report.status !== 'checked' || !report.diagnostics.length) return;
        log.warn({ typeErrors: report.diagnostics.length }, `typecheck: ${report.diagnostics.length} type error(s) in the running version:\n${lines(report)}`);
      },
      (err: unknown) => {
        if (!this.closed) log.warn(`typecheck could not run: ${(err as Error).message}`);
      },
    );
  }

  private check(desc: Descriptor): Promise<TypeReport> {
    this.checker ??= new TypeChecker();
    if (this.idle) clearTimeout(this.idle);
    const checker = this.checker;
    return checker.check({ name: desc.name, dir: desc.dir, entry: desc.entry }).finally(() => {
      if (this.checker !== checker) return;
      if (this.idle) clearTimeout(this.idle);
      this.idle = setTimeout(() => void this.release(), this.opts.idleMs());
      this.idle.unref();
    });
  }

  private async release(): Promise<void> {
    const checker = this.checker;
    this.checker = null;
    await checker?.close();
  }

  /** Ends the worker; idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    for (const t of this.waiting.values()) clearTimeout(t);
    this.waiting.clear();
    await this.release();
  }
}

function lines(report: TypeReport): string {
  const shown = report.diagnostics.slice(0, SHOWN).map((d) => `  ${formatDiagnostic(d)}`);
  if (report.diagnostics.length > SHOWN) shown.push(`  ... and ${report.diagnostics.length - SHOWN} more`);
  return shown.join('\n');
}
