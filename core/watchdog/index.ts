// The host's watchdog: a heartbeat the main thread bumps every 100 ms in shared memory, a worker
// thread (probe.cjs) that notices when it stops and samples what runs, and the main-thread side
// that, once the loop is free again, logs the stall, records it on the culprit's status and counts
// it as a crash of that instance (the supervisor's backoff, then failed). A loop that never frees
// is the worker's to end (crash record, exit 70). Also samples memory and event-loop delay.
import { readFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { DEFAULT_WATCHDOG, type WatchdogOptions } from '../config/node-config.ts';
import { chsError } from '../errors.ts';
import type { Instance } from '../instance.ts';
import type { InstanceStatus, StallInfo, WatchdogStatus } from '../types.ts';
import { HOOK, installHook, type Culprit, type Frame } from './attribute.ts';
import { NodeFigures } from './memory.ts';

export const RECORD_FILE = 'watchdog-last.json';
const BEAT_MS = 100;
const SAMPLE_WAIT_MS = 1_000;
/** How long close() waits for the probe to finish a sample in flight before terminating it. */
const STOP_WAIT_MS = 2_000;

export interface WatchdogHost {
  log: Logger;
  /** The host's current instances (the engine changes on reboot). */
  instances(): Iterable<Instance>;
  /** cheshire.json's watchdog section, once loaded. */
  config(): WatchdogOptions | null;
  /** The absolute state directory, once the config is loaded. */
  stateDir(): string | null;
}

interface Sample {
  kind: 'sample';
  beat: number;
  stuckMs: number;
  sampleMs: number;
  top: Culprit | null;
  frames: Frame[];
  error?: string;
}

export class Watchdog {
  private readonly shared = new Int32Array(new SharedArrayBuffer(20));
  private readonly base = Date.now();
  private readonly worker: Worker;
  private readonly beat: NodeJS.Timeout;
  private readonly figures: NodeFigures;
  private readonly unhook: () => void;
  private readonly samples = new Map<number, Sample>();
  /** Stalls that ended before their sample arrived: beat -> what to do with it. */
  private readonly waiting = new Map<number, (s: Sample | undefined) => void>();
  private readonly perInstance = new Map<string, { stalls: number; lastStall: StallInfo }>();
  private lastTick = performance.now();
  private ticks = 0;
  private stalls = 0;
  private lastStall: StallInfo | null = null;
  private lastIncident: (StallInfo & { pid: number }) | null = null;
  private lastSampleMs: number | null = null;
  private stateDir: string | null = null;
  private closed = false;
  /** Settles close()'s wait for the probe's 'stopped'. */
  private probeStopped: (() => void) | null = null;

  constructor(private readonly host: WatchdogHost) {
    this.figures = new NodeFigures(host.log);
    this.unhook = installHook(() => host.instances());
    this.applyConfig();
    this.figures.sample({ heapMb: 0, rssMb: 0 });
    this.worker = new Worker(new URL('./probe.cjs', import.meta.url), {
      // No tsx in the worker: it runs plain CommonJS and must start fast and stay small.
      execArgv: [],
      workerData: { sab: this.shared.buffer, base: this.base, hook: HOOK, canPause: inspector.url() === undefined },
      resourceLimits: { maxOldGenerationSizeMb: 32 },
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
    this.worker.on('message', (m: Sample | { kind: 'stopped' }) => {
      if (m?.kind === 'stopped') { this.probeStopped?.(); return; }
      if (m?.kind !== 'sample') return;
      this.lastSampleMs = m.sampleMs;
      const waiting = this.waiting.get(m.beat);
      if (waiting) waiting(m);
      else this.samples.set(m.beat, m);
    });
    this.worker.on('error', (err) => host.log.warn({ err }, `watchdog worker failed: ${err.message}; stalls are no longer detected`));
    this.beat = setInterval(() => this.tick(), BEAT_MS);
    this.beat.unref();
  }

  private get opts(): WatchdogOptions {
    return this.host.config() ?? DEFAULT_WATCHDOG;
  }

  /** Takes up the host's config now (thresholds, state dir) rather than at the next beat. */
  refresh(): void {
    this.applyConfig();
    if (!this.stateDir) this.learnStateDir();
  }

  private applyConfig(): void {
    const o = this.opts;
    Atomics.store(this.shared, 1, o.blockedMs);
    Atomics.store(this.shared, 2, o.killAfterMs);
    Atomics.store(this.shared, 3, o.enabled ? 1 : 0);
  }

  private tick(): void {
    const now = performance.now();
    const gap = now - this.lastTick;
    this.lastTick = now;
    Atomics.store(this.shared, 4, Date.now() - this.base);
    const before = Atomics.add(this.shared, 0, 1);
    this.refresh();
    if (++this.ticks % 10 === 0) this.figures.sample(this.opts);
    const blocked = Math.round(gap - BEAT_MS);
    if (this.opts.enabled && blocked >= this.opts.blockedMs) this.awaitSample(before, blocked);
    else if (this.samples.size > 8) this.samples.clear();
  }

  private learnStateDir(): void {
    const dir = this.host.stateDir();
    if (!dir) return;
    this.stateDir = dir;
    const file = join(dir, RECORD_FILE);
    this.worker.postMessage({ kind: 'record-file', file });
    try {
      const r = JSON.parse(readFileSync(file, 'utf8')) as { pid: number; at: string; ms: number; module: string | null; where: string | null };
      this.lastIncident = { pid: r.pid, at: r.at, ms: r.ms, module: r.module, where: r.where };
      this.host.log.warn(`watchdog: the previous process (pid ${r.pid}) was ended at ${r.at}: event loop blocked for ${r.ms} ms in ${r.module ?? 'unknown code'}${r.where ? ` at ${r.where}` : ''}`);
    } catch {
      // no record: the last process did not end by the watchdog
    }
  }

  /**
   * The sample of the stall at `beat` may still be on its way (Debugger.enable replays every
   * script to the session first: tens of ms with tsx loaded); wait for it up to SAMPLE_WAIT_MS.
   */
  private awaitSample(beat: number, ms: number): void {
    const have = this.samples.get(beat);
    this.samples.delete(beat);
    if (have) return this.stallEnded(ms, have);
    const timer = setTimeout(() => settle(undefined), SAMPLE_WAIT_MS);
    timer.unref();
    const settle = (s: Sample | undefined) => {
      clearTimeout(timer);
      this.waiting.delete(beat);
      this.stallEnded(ms, s);
    };
    this.waiting.set(beat, settle);
  }

  /** The loop is free again after `ms` blocked: log, record, and count it as the culprit's crash. */
  private stallEnded(ms: number, sample: Sample | undefined): void {
    if (this.closed) return;
    const culprit = sample?.top ?? null;
    const inst = culprit ? [...this.host.instances()].find((i) => i.id === culprit.id) : undefined;
    const info: StallInfo = { ms, at: new Date().toISOString(), module: inst ? inst.id : null, where: inst ? culprit!.where : null };
    this.stalls++;
    this.lastStall = info;
    const msg = `event loop blocked for ${ms} ms in ${inst ? `${inst.id} at ${info.where}` : `code of no module of this node${sample?.error ? ` (${sample.error})` : sample ? '' : ' (not sampled)'}`}`;
    this.host.log.warn({ stall: info, frames: sample?.frames.slice(0, 5) }, msg);
    if (!inst) return;
    inst.log.warn({ stall: info }, msg);
    const prev = this.perInstance.get(inst.id);
    this.perInstance.set(inst.id, { stalls: (prev?.stalls ?? 0) + 1, lastStall: info });
    // A crash of the current incarnation: the supervisor's backoff, then failed after maxRestarts.
    inst.run?.crash(chsError('CHS_ERR_EVENT_LOOP_BLOCKED', `${inst.id}: ${msg}`));
  }

  /** The instance's status with its stall figures. */
  decorate(s: InstanceStatus): InstanceStatus {
    const own = this.perInstance.get(s.id);
    return own ? { ...s, stalls: own.stalls, lastStall: own.lastStall } : s;
  }

  status(): WatchdogStatus {
    const o = this.opts;
    return {
      enabled: o.enabled,
      blockedMs: o.blockedMs,
      killAfterMs: o.killAfterMs,
      stalls: this.stalls,
      lastStall: this.lastStall,
      lastIncident: this.lastIncident,
      loopDelayMs: this.figures.loopDelayMs(),
      memory: this.figures.memory,
      lastSampleMs: this.lastSampleMs,
    };
  }

  /**
   * Stops the heartbeat, the figures and the worker. Idempotent. The probe is asked to stop first
   * and terminated once it says no sample is in flight (or after STOP_WAIT_MS): terminated between
   * its Debugger.pause and its resume, it could leave this thread paused for good.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.shared, 3, 0);
    clearInterval(this.beat);
    for (const settle of [...this.waiting.values()]) settle(undefined);
    this.figures.close();
    this.unhook();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_WAIT_MS);
      this.probeStopped = () => { clearTimeout(timer); resolve(); };
      this.worker.once('exit', () => this.probeStopped?.());
      this.worker.postMessage({ kind: 'stop' });
    });
    this.probeStopped = null;
    await this.worker.terminate();
  }
}
