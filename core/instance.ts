// A module instance's record in the host: what it runs (descriptor, code, config), its current
// incarnation, its state and its crash history. The host drives it; this file only holds it.
import { errorLocation, moduleStack } from './loader/stacks.ts';
import type { Logger } from 'pino';
import type { LoadedCode } from './loader.ts';
import type { Handed, Run } from './run.ts';
import { CrashRecord, type SupervisorOptions } from './supervisor.ts';
import type { Descriptor, ErrorInfo, InstanceState, InstanceStatus, ModuleExports } from './types.ts';

export type { ErrorInfo, InstanceStatus };

/** One loaded version of a module folder's code, shared by the instances of that folder. */
export interface Code {
  desc: Descriptor;
  loaded: LoadedCode;
  exports: ModuleExports;
}

export class Instance {
  code: Code | null = null;
  run: Run | null = null;
  state: InstanceState = 'planned';
  /** Whether the operator wants it running (stop M clears it, start M sets it). */
  wanted = true;
  /** Kept stopped across restarts (cheshire.json `disabled`; `cheshire disable M`). */
  disabled = false;
  waitingFor: string[] = [];
  restarts = 0;
  reloads = 0;
  startedAt: number | null = null;
  lastError: ErrorInfo | null = null;
  /** Provider ids resolved per dependency key at the last start (static) or last lookup (dynamic). */
  bound = new Map<string, string[]>();
  /** What the previous incarnation handed over, held until the next one starts. */
  handed: Handed = new Map();
  backoffTimer: NodeJS.Timeout | null = null;
  readonly crashes: CrashRecord;

  constructor(
    readonly id: string,
    public desc: Descriptor,
    public config: Record<string, unknown>,
    readonly log: Logger,
    supervisor: SupervisorOptions,
  ) {
    this.crashes = new CrashRecord(supervisor);
  }

  setError(err: unknown): ErrorInfo {
    this.lastError = errorInfo(err, this.desc.dir);
    return this.lastError;
  }

  status(): InstanceStatus {
    return {
      id: this.id,
      module: this.desc.name,
      version: this.desc.version,
      dir: this.desc.dir,
      hash: this.code?.loaded.hash ?? null,
      state: this.state,
      disabled: this.disabled,
      waitingFor: [...this.waitingFor],
      restarts: this.restarts,
      reloads: this.reloads,
      uptimeMs: this.state === 'active' && this.startedAt ? Date.now() - this.startedAt : null,
      lastError: this.lastError && { ...this.lastError, current: !(this.startedAt !== null && this.state === 'active' && Date.parse(this.lastError.at) < this.startedAt) },
      provides: this.desc.provides,
      requires: this.desc.requires.map((r) => ({ ...r, boundTo: this.bound.get(r.as) ?? [] })),
      config: this.config,
    };
  }
}

/**
 * What status and the timeline show of an error: its code, message, source-mapped stack, the
 * time, and where in the module's folder `dir` it was thrown. An ErrorInfo is passed through.
 */
export function errorInfo(err: unknown, dir: string): ErrorInfo {
  if (isErrorInfo(err)) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    code: (e as { code?: string }).code ?? 'CHS_ERR_MODULE_CRASH',
    message: e.message,
    stack: moduleStack(e),
    at: new Date().toISOString(),
    where: errorLocation(e, dir) ?? causeLocation(e, dir),
  };
}

function causeLocation(e: Error, dir: string): string | null {
  let cause = (e as { cause?: unknown }).cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    const at = errorLocation(cause, dir);
    if (at) return at;
    cause = (cause as { cause?: unknown }).cause;
  }
  return null;
}

function isErrorInfo(v: unknown): v is ErrorInfo {
  return !!v && typeof v === 'object' && !(v instanceof Error) && typeof (v as ErrorInfo).code === 'string' && typeof (v as ErrorInfo).stack === 'string' && typeof (v as ErrorInfo).at === 'string';
}
