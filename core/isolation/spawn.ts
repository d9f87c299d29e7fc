// Starting and ending an isolate, the host's side of ./channel.ts: a worker thread (the runtime
// evaluated from its code, resourceLimits as Node's) or a child process (forked from the runtime's
// file with `serialization: 'advanced'`, resourceLimits as V8 flags, its stdout/stderr read into
// the instance's log). Either way the caller gets one shape: post a message, pass a connection,
// kill it (terminate / SIGKILL) and learn how it ended. Over-limit ends as CHS_ERR_ISOLATION_LIMIT.
// Whatever either writes to stdout / stderr (console.log) is read line by line into the instance log.
import { fork, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { chsError } from '../errors.ts';
import type { IsolationLimits } from '../types.ts';
import type { Boot, HostMsg, WorkerMsg } from './protocol.ts';
import { relaySocket } from './relay.ts';
import { runtimeFile, workerCode } from './worker-code.ts';

export interface IsolateEvents {
  message(m: WorkerMsg): void;
  /** A line the child process wrote to stdout / stderr. */
  output(stream: 'stdout' | 'stderr', line: string): void;
  /** The isolate ended: `limit` set when it was over its resourceLimits. */
  exit(how: string, limit: Error | null): void;
}

export interface Isolate {
  readonly kind: 'worker' | 'process';
  readonly pid: number | null;
  /** The worker's threadId (null for a process). */
  readonly threadId: number | null;
  /** Hands its boot data to an isolate started without any (a spare, ./spares.ts): it starts the module now. */
  boot(b: Boot): void;
  /** Whether it keeps the host's process alive (an idle spare does not). */
  ref(on: boolean): void;
  post(m: HostMsg): void;
  /** Passes an accepted connection of the listener `key` (the socket, or a relay of its bytes). */
  pass(key: string, socket: Socket): void;
  /** Ends it at once; resolves when it has ended. */
  kill(): Promise<void>;
  readonly ended: Promise<void>;
}

/** Each line of `input` (a line longer than 16 KiB is cut there). */
function readLines(input: Readable, fn: (line: string) => void): void {
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => fn(line.length > 16_384 ? `${line.slice(0, 16_384)}…` : line));
}

const remoteOf = (s: Socket) => ({ address: s.remoteAddress, port: s.remotePort, family: s.remoteFamily });

export async function spawnIsolate(boot: Boot, limits: IsolationLimits, on: IsolateEvents): Promise<Isolate> {
  return startIsolate(boot.kind, limits, on, boot);
}

/** An isolate of `kind`; without `boot` it loads the runtime and waits, idle, for Isolate.boot (a spare). */
export async function startIsolate(kind: 'worker' | 'process', limits: IsolationLimits, on: IsolateEvents, boot: Boot | null): Promise<Isolate> {
  return kind === 'process' ? spawnProcess(boot, limits, on) : spawnWorker(boot, limits, on);
}

async function spawnWorker(first: Boot | null, limits: IsolationLimits, on: IsolateEvents): Promise<Isolate> {
  let boot = first ?? { id: 'a spare worker' } as Boot;
  const worker = new Worker(await workerCode(), { eval: true, workerData: first, resourceLimits: limits, execArgv: [], stdout: true, stderr: true });
  // Reading a worker's stdio holds the host's event loop, so a spare's is read once it is taken.
  const readStdio = () => {
    readLines(worker.stdout, (line) => on.output('stdout', line));
    readLines(worker.stderr, (line) => on.output('stderr', line));
  };
  if (first) readStdio();
  let alive = true;
  let limit: Error | null = null;
  const ended = new Promise<void>((resolve) => worker.once('exit', (code) => {
    alive = false;
    on.exit(`the worker exited (code ${code})`, limit);
    resolve();
  }));
  worker.on('message', (m: WorkerMsg) => on.message(m));
  worker.on('error', (err: Error & { code?: string }) => {
    if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      limit = chsError('CHS_ERR_ISOLATION_LIMIT', `${boot.id}: the worker exceeded its resourceLimits ${JSON.stringify(limits)} and was ended: ${err.message}`, err);
    } else {
      // An error the runtime did not catch itself: reported as the crash it is.
      on.message({ t: 'crash', error: { name: err.name, message: err.message, stack: String(err.stack), ...(err.code ? { code: err.code } : {}) } });
    }
  });
  return {
    kind: 'worker',
    pid: null,
    threadId: worker.threadId,
    boot(b) {
      boot = b;
      readStdio();
      if (alive) worker.postMessage({ t: 'boot', boot: b } satisfies HostMsg);
    },
    ref(on) {
      if (on) worker.ref();
      else worker.unref();
    },
    post: (m) => { if (alive) worker.postMessage(m); },
    pass(key, socket) {
      if (!alive) return void socket.destroy();
      const port = relaySocket(socket);
      worker.postMessage({ t: 'conn', key, port, remote: remoteOf(socket) } satisfies HostMsg, [port]);
    },
    async kill() {
      if (alive) await worker.terminate();
      await ended;
    },
    ended,
  };
}

/** resourceLimits as V8 flags of the child (MB; the young generation is three semi-spaces). */
export function limitFlags(limits: IsolationLimits): string[] {
  const flags: string[] = [];
  if (limits.maxOldGenerationSizeMb) flags.push(`--max-old-space-size=${Math.max(1, Math.round(limits.maxOldGenerationSizeMb))}`);
  if (limits.maxYoungGenerationSizeMb) flags.push(`--max-semi-space-size=${Math.max(1, Math.round(limits.maxYoungGenerationSizeMb / 3))}`);
  // V8's stack size is in KB and must stay below the thread's real stack (8 MB on Linux).
  if (limits.stackSizeMb) flags.push(`--stack-size=${Math.max(64, Math.min(7 * 1024, Math.round(limits.stackSizeMb * 1024)))}`);
  return flags;
}

const OOM = /heap out of memory|Reached heap limit|Allocation failed/;

async function spawnProcess(first: Boot | null, limits: IsolationLimits, on: IsolateEvents): Promise<Isolate> {
  let boot = first ?? { id: 'a spare process' } as Boot;
  const env = { ...process.env };
  // The child runs the bundled runtime with its own flags only, not the host's loaders.
  delete env.NODE_OPTIONS;
  const child: ChildProcess = fork(await runtimeFile(), [], {
    serialization: 'advanced',
    execArgv: limitFlags(limits),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env,
  });
  let alive = true;
  let tail = '';
  for (const stream of ['stdout', 'stderr'] as const) {
    readLines(child[stream]!, (line) => {
      if (stream === 'stderr') tail = (tail + line + '\n').slice(-8192);
      on.output(stream, line);
    });
  }
  const ended = new Promise<void>((resolve) => {
    // 'close': exited and its pipes are drained (the stderr tail is complete).
    child.once('close', (code, signal) => {
      alive = false;
      const how = `the process exited (${signal ? `signal ${signal}` : `code ${code}`})`;
      const limit = OOM.test(tail)
        ? chsError('CHS_ERR_ISOLATION_LIMIT', `${boot.id}: the process exceeded its resourceLimits ${JSON.stringify(limits)} (${limitFlags(limits).join(' ') || 'no flags'}) and died: ${tail.split('\n').find((l) => OOM.test(l))?.trim()}`)
        : null;
      on.exit(how, limit);
      resolve();
    });
  });
  child.on('error', (err) => {
    on.output('stderr', `cannot run the isolate process: ${err.message}`);
    child.kill('SIGKILL');
  });
  child.on('message', (m: WorkerMsg) => on.message(m));
  const send = (m: HostMsg, handle?: Socket) => {
    if (!alive || !child.connected) return false;
    child.send(m, handle as never, (err) => { if (err && handle) handle.destroy(); });
    return true;
  };
  if (first) send({ t: 'boot', boot: first });
  // The handles an idle spare must not hold the host's event loop by: the child, its IPC channel, its pipes.
  const handles = () => [child, child.channel, child.stdout, child.stderr] as Array<{ ref?(): void; unref?(): void } | null | undefined>;
  return {
    kind: 'process',
    pid: child.pid ?? null,
    threadId: null,
    boot(b) {
      boot = b;
      send({ t: 'boot', boot: b });
    },
    ref(on) {
      for (const h of handles()) {
        if (on) h?.ref?.();
        else h?.unref?.();
      }
    },
    post: (m) => { send(m); },
    pass(key, socket) {
      if (!send({ t: 'conn', key, remote: remoteOf(socket) }, socket)) socket.destroy();
    },
    async kill() {
      if (alive) child.kill('SIGKILL');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((r) => { timer = setTimeout(r, 5_000); })]);
      clearTimeout(timer);
    },
    ended,
  };
}
