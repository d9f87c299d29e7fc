// A module instance's record in the host: what it runs (descriptor, code, config), its current
// incarnation, its state and its crash history. The host drives it; this file only holds it.
import { moduleStack } from './loader/stacks.ts';
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
    const e = err instanceof Error ? err : new Error(String(err));
    this.lastError = {
      code: (e as { code?: string }).code ?? 'CHS_ERR_MODULE_CRASH',
      message: e.message,
      stack: moduleStack(e),
      at: new Date().toISOString(),
    };
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
      lastError: this.lastError,
      provides: this.desc.provides,
      requires: this.desc.requires.map((r) => ({ ...r, boundTo: this.bound.get(r.as) ?? [] })),
      config: this.config,
    };
  }
}
