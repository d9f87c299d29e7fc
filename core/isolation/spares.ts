// Warm spares: booting an isolate (a thread or process start plus loading the runtime) is most of
// an isolated module's reload, so the host keeps one booted, idle isolate ready per isolation
// "shape" in use (the kind and what is fixed at spawn time: resourceLimits / V8 flags). A new
// incarnation of that shape takes the spare (it is handed the boot data it would otherwise get
// at spawn) and a new spare is started in the background once that incarnation has started.
// A spare never runs module code until taken; it does not keep the host's process alive (a
// process spare dies with its host like any isolate: its IPC pipe closes); it is ended when no
// incarnation of its shape remains (right away after a final stop, so a host's close ends it;
// a few seconds after a stop that hands over to a next incarnation). At most one spare per shape
// and MAX_SHAPES shapes per host process. A spare that dies while idle is replaced (logged at
// debug), up to MAX_IDLE_DEATHS times in a row.
import type { Logger } from 'pino';
import type { Descriptor, IsolationLimits } from '../types.ts';
import { reviveError, type Bundle, type WorkerMsg } from './protocol.ts';
import { limitFlags, startIsolate, type Isolate, type IsolateEvents } from './spawn.ts';

export const MAX_SHAPES = 4;
/** After a stop that hands over, how long its shape still counts as in use (the next start comes). */
export const HANDOVER_GRACE_MS = 5_000;
const MAX_IDLE_DEATHS = 3;
/** How long after an incarnation of its shape has started a new spare is started. */
export const REPLENISH_DELAY_MS = 30;

type Kind = 'worker' | 'process';

/** Descriptors (made by an override with `"spares": false`) whose isolates never use warm spares. */
export const sparesOff = new WeakSet<Descriptor>();

/** Where an idle spare's events go until it is taken, then the incarnation's. */
class Switchboard implements IsolateEvents {
  target: IsolateEvents | null = null;
  constructor(private readonly idle: { message(m: WorkerMsg): void; output(stream: string, line: string): void; exit(how: string): void }) {}
  message(m: WorkerMsg): void {
    if (this.target) this.target.message(m);
    else this.idle.message(m);
  }
  output(stream: 'stdout' | 'stderr', line: string): void {
    if (this.target) this.target.output(stream, line);
    else this.idle.output(stream, line);
  }
  exit(how: string, limit: Error | null): void {
    if (this.target) this.target.exit(how, limit);
    else this.idle.exit(how);
  }
}

interface Spare {
  made: Promise<{ iso: Isolate; board: Switchboard } | null>;
  iso: Isolate | null;
  board: Switchboard | null;
  dead: boolean;
  /** The vmName of the bundle it was given to evaluate ahead (preload()): only that code's incarnation may take it. */
  loaded: string | null;
  /** Told how that evaluation went (null: fine, or the spare went away or was taken), once. */
  onLoaded: ((err: Error | null) => void) | null;
  /** An incarnation took it: it is no longer a spare's to end. */
  taken: boolean;
}

/** A bundle handed to a spare to evaluate ahead: how it went, and a way to end that spare (it hangs). */
export interface Preload {
  /** Resolves null once evaluated (or when the spare went away: the start evaluates then), or with the error it threw. */
  readonly result: Promise<Error | null>;
  /** Ends the spare (its evaluation threw or did not finish in time) and starts a clean one in its place. */
  end(): Promise<void>;
}

interface Shape {
  key: string;
  kind: Kind;
  limits: IsolationLimits;
  /** Incarnations of this shape that are running, starting, or just handed over to a next one. */
  holders: number;
  /** Instance id -> the grace timer of its incarnation that stopped handing over (its next one takes the hold on). */
  pending: Map<string, NodeJS.Timeout>;
  spare: Spare | null;
  /** A spare to be started shortly (replenish()). */
  refill: NodeJS.Timeout | null;
  idleDeaths: number;
  log: Logger | null;
}

const shapes = new Map<string, Shape>();

/** The key of what is fixed when an isolate is spawned: its kind and its limits as they reach V8. */
export function shapeKey(kind: Kind, limits: IsolationLimits): string {
  if (kind === 'process') return `process ${limitFlags(limits).join(' ')}`;
  const sorted = Object.entries(limits).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b));
  return `worker ${JSON.stringify(sorted)}`;
}

/** What an isolated incarnation holds of its shape while it runs; release() once at its end. */
export interface Lease {
  /**
   * The spare of this shape, booted and idle, now the caller's (its events go to `on`), or null.
   * A spare that evaluated another bundle ahead (preload()) is ended instead: its module-level
   * state is that code's.
   */
  take(on: IsolateEvents, vmName: string): Promise<Isolate | null>;
  /** Starts a spare of this shape in the background unless one is there (after the holder has started). */
  replenish(): void;
  /** The incarnation ended; `handingOver`: a next one is coming. Resolves once an unused spare is ended. */
  release(handingOver: boolean): Promise<void>;
}

const NO_LEASE: Lease = { take: async () => null, replenish: () => {}, release: async () => {} };

/** Holds the shape of (`kind`, `limits`) for one incarnation; `enabled: false` (spares off) holds nothing. */
export function hold(id: string, kind: Kind, limits: IsolationLimits, log: Logger, enabled: boolean): Lease {
  if (!enabled) return NO_LEASE;
  const key = shapeKey(kind, limits);
  let shape = shapes.get(key);
  if (!shape) {
    if (shapes.size >= MAX_SHAPES) return NO_LEASE;
    shape = { key, kind, limits: { ...limits }, holders: 0, pending: new Map(), spare: null, refill: null, idleDeaths: 0, log };
    shapes.set(key, shape);
  }
  const s = shape;
  const handed = s.pending.get(id);
  if (handed) {
    // The previous incarnation's hold passes to this one.
    clearTimeout(handed);
    s.pending.delete(id);
  } else s.holders++;
  s.log = log;
  let released = false;
  return {
    async take(on, vmName) {
      const spare = s.spare;
      if (!spare || spare.dead) return null;
      s.spare = null;
      if (spare.loaded !== null && spare.loaded !== vmName) {
        void endSpare(spare);
        return null;
      }
      // One still starting is nearer to ready than a new one would be.
      const made = await spare.made;
      if (!made || spare.dead) return null;
      s.idleDeaths = 0;
      made.board.target = on;
      made.iso.ref(true);
      // An incarnation of the bundle it evaluated took it (a second reload of the same code):
      // whoever still waits for that evaluation stops waiting; its outcome is that start's now.
      spare.taken = true;
      loadSettled(spare, null);
      return made.iso;
    },
    replenish() {
      // Starting an isolate holds the host's event loop for a few ms (a Worker's or a child's
      // creation is synchronous): done a moment later, off the path of the reload that just
      // completed and of the first requests its new version answers.
      if (released || s.spare || s.refill) return;
      s.refill = setTimeout(() => refillNow(s), REPLENISH_DELAY_MS);
      s.refill.unref();
    },
    async release(handingOver) {
      if (released) return;
      released = true;
      if (!handingOver || s.pending.has(id)) return drop(s);
      const t = setTimeout(() => {
        s.pending.delete(id);
        void drop(s);
      }, HANDOVER_GRACE_MS);
      t.unref();
      s.pending.set(id, t);
    },
  };
}

/**
 * Hands the idle spare of (`kind`, `limits`) the next version of a module to evaluate now, while
 * the current incarnation still serves (the reload's evaluate step, core/host.ts): the incarnation
 * that then takes the spare with that bundle starts from the evaluated module. No spare, one being
 * started or one already given a bundle: nothing happens (that start evaluates as usual).
 */
export function preload(kind: Kind, limits: IsolationLimits, bundle: Bundle): Preload | null {
  const s = shapes.get(shapeKey(kind, limits));
  const spare = s?.spare;
  const iso = spare?.iso;
  if (!spare || !iso || spare.dead || spare.loaded !== null) return null;
  spare.loaded = bundle.vmName;
  const result = new Promise<Error | null>((resolve) => { spare.onLoaded = resolve; });
  iso.post({ t: 'load', bundle });
  const shape = s!;
  return {
    result,
    async end() {
      // Taken meanwhile: an incarnation's isolate now, ended with it.
      if (spare.taken) return;
      // Its module-level state is that code's: a clean spare replaces it.
      if (shape.spare === spare) shape.spare = inUse(shape) ? makeSpare(shape) : null;
      await endSpare(spare);
    },
  };
}

/** One holder less; the last one out ends the shape's spare. */
async function drop(s: Shape): Promise<void> {
  s.holders--;
  if (s.holders > 0) return;
  if (s.refill) clearTimeout(s.refill);
  s.refill = null;
  if (shapes.get(s.key) === s) shapes.delete(s.key);
  const spare = s.spare;
  s.spare = null;
  if (spare) await endSpare(spare);
}

/** Whether the shape still has holders and is still the registered one (worth a spare). */
function inUse(s: Shape): boolean {
  return s.holders > 0 && shapes.get(s.key) === s;
}

/** Tells whoever waits for the spare's evaluation ahead how it went (once). */
function loadSettled(spare: Spare, err: Error | null): void {
  const tell = spare.onLoaded;
  spare.onLoaded = null;
  tell?.(err);
}

/** Starts the spare of `s` that was due (replenish()), unless one is there or the shape is no longer in use. */
function refillNow(s: Shape): void {
  if (s.refill) clearTimeout(s.refill);
  s.refill = null;
  if (!s.spare && inUse(s)) s.spare = makeSpare(s);
}

async function endSpare(spare: Spare): Promise<void> {
  spare.dead = true;
  const made = await spare.made;
  await made?.iso.kill();
}

function makeSpare(s: Shape): Spare {
  const spare: Spare = { made: Promise.resolve(null), iso: null, board: null, dead: false, loaded: null, onLoaded: null, taken: false };
  const board = new Switchboard({
    message(m) {
      if (m.t === 'loaded') loadSettled(spare, m.error ? reviveError(m.error) : null);
    },
    output: (stream, line) => s.log?.debug({ stream }, `spare ${s.kind} (${s.key}): ${line}`),
    exit(how) {
      loadSettled(spare, null);
      if (spare.dead) return;
      spare.dead = true;
      if (s.spare === spare) s.spare = null;
      s.idleDeaths++;
      const again = inUse(s) && s.idleDeaths <= MAX_IDLE_DEATHS;
      s.log?.debug(`the idle spare ${s.kind} (${s.key}) ended: ${how}; ${again ? 'starting another' : 'not replaced'}`);
      if (again) s.spare = makeSpare(s);
    },
  });
  spare.made = startIsolate(s.kind, s.limits, board, null).then(
    (iso) => {
      iso.ref(false);
      spare.iso = iso;
      spare.board = board;
      // Ended meanwhile (no holder left): endSpare kills it.
      return { iso, board };
    },
    (err: unknown) => {
      spare.dead = true;
      if (s.spare === spare) s.spare = null;
      s.log?.debug({ err }, `a spare ${s.kind} (${s.key}) could not be started: ${(err as Error).message}`);
      return null;
    },
  );
  return spare;
}

export interface SpareInfo {
  shape: string;
  kind: Kind;
  /** false while its isolate is still being started. */
  ready: boolean;
  pid: number | null;
  threadId: number | null;
  /** Ends the idle isolate from outside, as a crash or a kill would (it is then replaced). */
  kill(): Promise<void>;
}

/** The spares of this host process, idle or being started (for tests and status). */
export function spares(): SpareInfo[] {
  const out: SpareInfo[] = [];
  for (const s of shapes.values()) {
    const spare = s.spare;
    if (!spare || spare.dead) continue;
    const iso = spare.iso;
    out.push({ shape: s.key, kind: s.kind, ready: Boolean(iso), pid: iso?.pid ?? null, threadId: iso?.threadId ?? null, kill: async () => { await iso?.kill(); } });
  }
  return out;
}

/** Starts the spares due shortly at once, and resolves once every spare being started has finished starting (for tests). */
export async function sparesSettled(): Promise<void> {
  for (const s of shapes.values()) if (s.refill) refillNow(s);
  await Promise.all([...shapes.values()].map((s) => s.spare?.made));
}
