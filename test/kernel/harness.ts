// The real Linux 9P client (v9fs) as a test client. This machine's kernel need not have 9p: the
// harness boots Debian's packaged kernel (linux-image-amd64, installed by .ci/run; found under
// /boot and /lib/modules) under qemu, with a busybox initramfs it builds itself, and the guest
// reaches a node on loopback only through virtio-serial ports (no network device).
//
//   host                                   guest (test/kernel/guest/init.sh is PID 1)
//   node  <-TCP-  bridge  <-unix socket-  qemu  virtio port "chs-9p-N"  <-cat/FIFOs->  mount -t 9p -o trans=fd
//   test  <------ control <-unix socket-  qemu  virtio port "chs-ctl"   <- step results, host requests
//
// A test describes what the guest does as a GuestPlan (mounts, shell steps, requests the host
// answers, e.g. "reload styx-root now"); bootGuest() runs it in one boot and returns each step's
// exit status and output. Every bridge connects to its node lazily, on the guest's first bytes
// (its Tversion), so the node's handshake deadline does not run while the guest boots.
//
// The base initramfs (static busybox, the modules 9p and virtio-serial need, in load order) is
// cached in .cache/kernel-client/ (gitignored), keyed by kernel release and busybox; each boot
// appends a small overlay archive with /init, /lib.sh, the plan and its steps. Every qemu runs
// under a hard deadline (coreutils timeout, its own process group) and is killed with its group
// when bootGuest returns or throws; the run's temp dir is removed. Nothing is downloaded.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpioGz, type Entry } from './initramfs.ts';

export const REPO = join(import.meta.dirname, '../..');
export const CACHE_DIR = process.env.CHESHIRE_KERNEL_CACHE ?? join(REPO, '.cache/kernel-client');
/** The guest's scripts and sources (init.sh, lib.sh, fsx.c). */
export const GUEST_DIR = join(import.meta.dirname, 'guest');
/** Bump when the base archive's layout changes, so old caches are not reused. */
const BASE_FORMAT = 1;
/** What the guest loads: the 9p file system, its fd transport, virtio-serial over PCI. */
const WANTED_MODULES = ['9p', '9pnet_fd', 'virtio_pci', 'virtio_console'];
/** Virtio-serial ports per device (see bootGuest). */
const PORTS_PER_DEVICE = 8;
const INSTALL_HINT = 'install Debian\'s qemu-system-x86, busybox-static and linux-image-amd64 (.ci/run does)';

// ---------------------------------------------------------------------------------------------
// What the host has

export interface Kernel {
  release: string;
  vmlinuz: string;
  modulesDir: string;
}

const byVersion = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/** The newest /boot/vmlinuz-R that has /lib/modules/R/modules.dep (CHESHIRE_KERNEL_RELEASE picks one). */
export function findKernel(): Kernel {
  const wanted = process.env.CHESHIRE_KERNEL_RELEASE;
  let names: string[] = [];
  try { names = readdirSync('/boot'); } catch { /* no /boot */ }
  const releases = names
    .filter((n) => n.startsWith('vmlinuz-'))
    .map((n) => n.slice('vmlinuz-'.length))
    .filter((r) => existsSync(`/lib/modules/${r}/modules.dep`))
    .filter((r) => !wanted || r === wanted)
    .sort(byVersion);
  const release = releases.at(-1);
  if (!release) {
    throw new Error(`no kernel to boot: no /boot/vmlinuz-RELEASE with /lib/modules/RELEASE/modules.dep${wanted ? ` for ${wanted}` : ''}; ${INSTALL_HINT}`);
  }
  const vmlinuz = `/boot/vmlinuz-${release}`;
  try { accessSync(vmlinuz, constants.R_OK); } catch { throw new Error(`${vmlinuz} is not readable by this user`); }
  return { release, vmlinuz, modulesDir: `/lib/modules/${release}` };
}

export function findQemu(): string {
  for (const p of ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64']) if (existsSync(p)) return p;
  throw new Error(`qemu-system-x86_64 not found; ${INSTALL_HINT}`);
}

/** Whether an ELF file has no program interpreter (PT_INTERP), i.e. is statically linked. */
function isStaticElf(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const h = Buffer.alloc(64);
    readSync(fd, h, 0, 64, 0);
    if (h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2) return false; // ELF, 64-bit
    const phoff = Number(h.readBigUInt64LE(0x20));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const ph = Buffer.alloc(phentsize * phnum);
    readSync(fd, ph, 0, ph.length, phoff);
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

/** A statically linked busybox (Debian's busybox-static installs /bin/busybox). */
export function findBusybox(): string {
  const candidates = [process.env.CHESHIRE_BUSYBOX, '/bin/busybox', '/usr/bin/busybox'].filter((p): p is string => !!p);
  for (const p of candidates) if (existsSync(p) && isStaticElf(p)) return p;
  throw new Error(`no statically linked busybox (looked at ${candidates.join(', ')}); ${INSTALL_HINT}`);
}

const modName = (file: string): string => file.replace(/^.*\//, '').replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_');

/** The modules to insmod for WANTED_MODULES, dependencies first, as paths under the modules dir. */
export function moduleClosure(k: Kernel, wanted = WANTED_MODULES): string[] {
  const deps = new Map<string, { path: string; deps: string[] }>();
  for (const line of readFileSync(join(k.modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) deps.set(modName(m[1]!), { path: m[1]!, deps: m[2]!.split(/\s+/).filter(Boolean).map(modName) });
  }
  let builtin = new Set<string>();
  try { builtin = new Set(readFileSync(join(k.modulesDir, 'modules.builtin'), 'utf8').split('\n').filter(Boolean).map(modName)); } catch { /* none */ }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, from: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const d = deps.get(name);
    if (!d) {
      if (builtin.has(name)) return;
      throw new Error(`kernel ${k.release} has no module ${name} (needed by ${from}) and does not build it in`);
    }
    for (const dep of d.deps) visit(dep, name);
    order.push(d.path);
  };
  for (const w of wanted) visit(w, 'the 9p client');
  return order;
}

/** A module file's bytes, decompressed when the kernel ships them compressed. */
function moduleBytes(path: string): Buffer {
  if (path.endsWith('.ko')) return readFileSync(path);
  const tool = path.endsWith('.xz') ? 'xz' : path.endsWith('.zst') ? 'zstd' : path.endsWith('.gz') ? 'gzip' : undefined;
  if (!tool) throw new Error(`unknown module format: ${path}`);
  return execFileSync(tool, ['-dc', path], { maxBuffer: 64 << 20 });
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export interface Base {
  kernel: Kernel;
  qemu: string;
  /** The cached base archive (gzip'ed newc). */
  archive: string;
  modules: string[];
  cached: boolean;
}

/** Finds kernel, qemu and busybox, and builds (or reuses) the cached base initramfs. */
export async function prepareBase(): Promise<Base> {
  const kernel = findKernel();
  const qemu = findQemu();
  const busybox = findBusybox();
  const modules = moduleClosure(kernel);
  const bb = readFileSync(busybox);
  const vm = statSync(kernel.vmlinuz);
  const key = sha256(JSON.stringify([BASE_FORMAT, kernel.release, vm.size, vm.mtimeMs, sha256(bb), modules])).slice(0, 16);
  const archive = join(CACHE_DIR, `base-${kernel.release}-${key}.cpio.gz`);
  const names = modules.map(modName);
  if (existsSync(archive)) return { kernel, qemu, archive, modules: names, cached: true };
  const entries: Entry[] = [
    ...['bin', 'dev', 'proc', 'sys', 'tmp', 'mnt', 'mods', 'steps'].map((path): Entry => ({ kind: 'dir', path })),
    { kind: 'char', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'char', path: 'dev/null', major: 1, minor: 3, mode: 0o666 },
    { kind: 'file', path: 'bin/busybox', data: bb, mode: 0o755 },
    { kind: 'file', path: 'mods/order', data: names.join('\n') + '\n' },
  ];
  for (const m of modules) entries.push({ kind: 'file', path: `mods/${modName(m)}.ko`, data: moduleBytes(join(kernel.modulesDir, m)) });
  await mkdir(CACHE_DIR, { recursive: true });
  // Old bases (another kernel, another busybox) are dropped; a concurrent builder writes its own temp file.
  for (const f of readdirSync(CACHE_DIR)) if (/^base-.*\.cpio\.gz$/.test(f) && join(CACHE_DIR, f) !== archive) await rm(join(CACHE_DIR, f), { force: true });
  const tmp = `${archive}.${process.pid}.tmp`;
  await writeFile(tmp, cpioGz(entries));
  await rename(tmp, archive);
  return { kernel, qemu, archive, modules: names, cached: false };
}

/**
 * A static x86-64 binary for the guest, compiled from a C file here (gcc -static -O2; Debian's gcc
 * and libc6-dev) and cached by source and compiler.
 */
export function staticBinary(source: string): Buffer {
  let version: string;
  try {
    version = execFileSync('gcc', ['--version'], { encoding: 'utf8' });
  } catch {
    throw new Error(`gcc not found to build ${source} for the guest: install Debian's gcc and libc6-dev (.ci/run does)`);
  }
  const src = readFileSync(source);
  const name = source.replace(/^.*\//, '').replace(/\.c$/, '');
  const out = join(CACHE_DIR, `${name}-${sha256(Buffer.concat([src, Buffer.from(version)])).slice(0, 16)}`);
  if (!existsSync(out)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    for (const f of readdirSync(CACHE_DIR)) if (f.startsWith(`${name}-`) && !f.endsWith('.tmp')) rmSync(join(CACHE_DIR, f), { force: true });
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', tmp, source], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`gcc -static ${source} failed (is libc6-dev installed?): ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
    renameSync(tmp, out);
  }
  return readFileSync(out);
}

// ---------------------------------------------------------------------------------------------
// What the guest does

/** Single-quotes a string for sh. */
export const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface MountSpec {
  /** Where the bridge connects (the node's 9P port on 127.0.0.1). */
  port: number;
  host?: string;
  /** Mount point in the guest, e.g. /mnt/ctl. */
  dir: string;
  version: '9p2000.L' | '9p2000.u' | '9p2000';
  msize: number;
  /** More mount options (aname=..., cache=..., uname=...). */
  opts?: string[];
}

export interface StepOptions {
  /** Guest-side limit; the step is SIGKILLed after it (default 30 s). */
  timeoutS?: number;
}

/**
 * A guest run: mounts, shell steps and host requests, in order. Step scripts run under
 * `sh -e` with /lib.sh sourced (say, fail, hostreq...) and the variables set by env().
 */
export class GuestPlan {
  private readonly lines: string[] = [];
  private readonly files: Entry[] = [];
  readonly mounts: (MountSpec & { portName: string })[] = [];
  readonly labels: string[] = [];
  private n = 0;

  private label(label: string): void {
    if (/[\n\r]/.test(label)) throw new Error(`a step label must be one line: ${label}`);
    if (this.labels.includes(label)) throw new Error(`duplicate step label: ${label}`);
    this.labels.push(label);
  }

  /** Sets shell variables for the steps that follow (exported). */
  env(vars: Record<string, string | number>): this {
    for (const [k, v] of Object.entries(vars)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad variable name ${k}`);
      this.lines.push(`export ${k}=${sq(String(v))}`);
    }
    return this;
  }

  /** A step that mounts a node's 9P port in the guest (over its own virtio port and bridge). */
  mount(label: string, spec: MountSpec): this {
    this.label(label);
    const portName = `chs-9p-${this.mounts.length}`;
    this.mounts.push({ ...spec, portName });
    const opts = [`version=${spec.version}`, `msize=${spec.msize}`, ...(spec.opts ?? [])].join(',');
    if (/[\s']/.test(opts) || /[\s']/.test(spec.dir)) throw new Error(`mount options and dir may not contain blanks or quotes: ${opts} ${spec.dir}`);
    this.lines.push(`mount9p ${sq(label)} ${portName} ${spec.dir} ${opts}`);
    return this;
  }

  /** A shell step: exit status 0 passes. */
  step(label: string, script: string, opts: StepOptions = {}): this {
    this.label(label);
    const file = `steps/${String(this.n++).padStart(3, '0')}.sh`;
    this.files.push({ kind: 'file', path: file, data: script.endsWith('\n') ? script : `${script}\n` });
    this.lines.push(`run_step ${opts.timeoutS ?? 30} ${sq(label)} /${file}`);
    return this;
  }

  /** A step that asks the host something (bootGuest's onRequest); it passes when the answer starts with "ok". */
  host(label: string, request: string, opts: StepOptions = {}): this {
    if (/[\n\r]/.test(request)) throw new Error('a host request must be one line');
    return this.step(label, `hostreq ${sq(request)}`, opts);
  }

  /** A file placed in the guest's initramfs (e.g. a static binary), path without leading slash. */
  file(path: string, data: Buffer | string, mode = 0o644): this {
    this.files.push({ kind: 'file', path, data, mode });
    return this;
  }

  /** The overlay archive: /init, /lib.sh, /plan.sh, the steps and extra files. */
  overlay(): Buffer {
    const entries: Entry[] = [
      { kind: 'file', path: 'init', data: readFileSync(join(GUEST_DIR, 'init.sh')), mode: 0o755 },
      { kind: 'file', path: 'lib.sh', data: readFileSync(join(GUEST_DIR, 'lib.sh')) },
      { kind: 'file', path: 'plan.sh', data: this.lines.join('\n') + '\n' },
    ];
    const dirs = new Set<string>();
    for (const f of this.files) {
      const parts = f.path.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
    }
    for (const d of [...dirs].sort()) entries.push({ kind: 'dir', path: d });
    return cpioGz([...entries, ...this.files], 100_000);
  }
}

// ---------------------------------------------------------------------------------------------
// Running it

export interface StepResult {
  label: string;
  ok: boolean;
  /** Exit status (137: killed by the guest-side timeout). */
  rc: number;
  output: string;
  ms: number;
}

export interface BridgeStats {
  portName: string;
  target: string;
  connected: boolean;
  toNode: number;
  fromNode: number;
  error?: string;
}

export interface BootResult {
  kernel: string;
  accel: string;
  steps: Map<string, StepResult>;
  /** Labels in the plan that never reported (the guest stopped or hung before them). */
  missing: string[];
  /** The guest reached the end of the plan. */
  done: boolean;
  /** Why the run ended early, if it did. */
  reason?: string;
  /** From qemu's start to the guest's first report. */
  bootMs: number;
  ms: number;
  console: string;
  bridges: BridgeStats[];
}

export interface BootOptions {
  plan: GuestPlan;
  /** Hard limit for the whole boot; qemu is killed after it. */
  deadlineMs: number;
  /** Answers the guest's host requests; an answer starting with "ok" passes the step. */
  onRequest?: (request: string) => Promise<string> | string;
  /** Progress (one line per event) for a verbose run. */
  onProgress?: (line: string) => void;
  memMb?: number;
}

/** qemu's accelerator: KVM when /dev/kvm is usable (CHESHIRE_QEMU_ACCEL overrides), else TCG. */
function accel(): string {
  const env = process.env.CHESHIRE_QEMU_ACCEL;
  if (env) return env;
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return 'kvm';
  } catch {
    return 'tcg';
  }
}

const MSG_NAMES: Record<number, string> = {
  6: 'Tlerror', 7: 'Rlerror', 8: 'Tstatfs', 9: 'Rstatfs', 12: 'Tlopen', 13: 'Rlopen', 14: 'Tlcreate', 15: 'Rlcreate',
  16: 'Tsymlink', 17: 'Rsymlink', 18: 'Tmknod', 19: 'Rmknod', 20: 'Trename', 21: 'Rrename', 22: 'Treadlink', 23: 'Rreadlink',
  24: 'Tgetattr', 25: 'Rgetattr', 26: 'Tsetattr', 27: 'Rsetattr', 30: 'Txattrwalk', 31: 'Rxattrwalk', 32: 'Txattrcreate',
  33: 'Rxattrcreate', 40: 'Treaddir', 41: 'Rreaddir', 50: 'Tfsync', 51: 'Rfsync', 52: 'Tlock', 53: 'Rlock', 54: 'Tgetlock',
  55: 'Rgetlock', 70: 'Tlink', 71: 'Rlink', 72: 'Tmkdir', 73: 'Rmkdir', 74: 'Trenameat', 75: 'Rrenameat', 76: 'Tunlinkat',
  77: 'Runlinkat', 100: 'Tversion', 101: 'Rversion', 102: 'Tauth', 103: 'Rauth', 104: 'Tattach', 105: 'Rattach',
  107: 'Rerror', 108: 'Tflush', 109: 'Rflush', 110: 'Twalk', 111: 'Rwalk', 112: 'Topen', 113: 'Ropen', 114: 'Tcreate',
  115: 'Rcreate', 116: 'Tread', 117: 'Rread', 118: 'Twrite', 119: 'Rwrite', 120: 'Tclunk', 121: 'Rclunk', 122: 'Tremove',
  123: 'Rremove', 124: 'Tstat', 125: 'Rstat', 126: 'Twstat', 127: 'Rwstat',
};

/** One line per 9P message of a byte stream (CHESHIRE_KERNEL_TRACE): type, tag and a few fields. */
function frameTracer(dir: string, out: string[]): (d: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (d) => {
    pending = pending.length ? Buffer.concat([pending, d]) : d;
    while (pending.length >= 7) {
      const size = pending.readUInt32LE(0);
      if (size < 7 || pending.length < size) break;
      const m = pending.subarray(0, size);
      pending = pending.subarray(size);
      const type = m[4]!;
      let line = `${dir} ${MSG_NAMES[type] ?? `type ${type}`} tag ${m.readUInt16LE(5)} size ${size}`;
      if ((type === 116 || type === 40) && size >= 23) line += ` fid ${m.readUInt32LE(7)} offset ${m.readBigUInt64LE(11)} count ${m.readUInt32LE(19)}`;
      else if ((type === 117 || type === 41 || type === 119) && size >= 11) line += ` count ${m.readUInt32LE(7)}`;
      else if (type === 118 && size >= 23) line += ` fid ${m.readUInt32LE(7)} offset ${m.readBigUInt64LE(11)} count ${m.readUInt32LE(19)}`;
      else if (type === 7 && size >= 11) line += ` errno ${m.readUInt32LE(7)}`;
      else if (type === 107 && size >= 9) line += ` ${m.subarray(9, 9 + m.readUInt16LE(7)).toString('utf8')}`;
      else if (type === 110 && size >= 17) {
        const names: string[] = [];
        let at = 17;
        for (let i = 0; i < m.readUInt16LE(15) && at + 2 <= size; i++) { const n = m.readUInt16LE(at); names.push(m.subarray(at + 2, at + 2 + n).toString('utf8')); at += 2 + n; }
        line += ` fid ${m.readUInt32LE(7)} newfid ${m.readUInt32LE(11)} ${names.join('/')}`;
      }
      out.push(line);
    }
  };
}

/** Listens on a unix socket for qemu's chardev and relays it to a TCP port, connecting on first data. */
function bridge(path: string, portName: string, host: string, port: number, sockets: Set<net.Socket>, trace?: string[]): { server: net.Server; stats: BridgeStats } {
  const stats: BridgeStats = { portName, target: `${host}:${port}`, connected: false, toNode: 0, fromNode: 0 };
  const server = net.createServer((guest) => {
    sockets.add(guest);
    guest.on('error', () => undefined);
    guest.once('data', (first: Buffer) => {
      guest.pause();
      const node = net.connect({ host, port });
      sockets.add(node);
      node.on('error', (err) => { stats.error = err.message; guest.destroy(); });
      node.on('connect', () => {
        stats.connected = true;
        const toNode = trace ? frameTracer('->', trace) : undefined;
        const fromNode = trace ? frameTracer('<-', trace) : undefined;
        stats.toNode += first.length;
        toNode?.(first);
        node.write(first);
        guest.on('data', (d: Buffer) => { stats.toNode += d.length; toNode?.(d); });
        node.on('data', (d: Buffer) => { stats.fromNode += d.length; fromNode?.(d); });
        guest.pipe(node);
        node.pipe(guest);
        guest.resume();
      });
      // The node hanging up ends the guest side too: the guest's relay sees EOF and the kernel
      // gets an error instead of waiting for a reply forever.
      node.on('close', () => guest.destroy());
      guest.on('close', () => node.destroy());
    });
  });
  server.listen(path);
  return { server, stats };
}

/** Boots the kernel once and runs the plan; never throws for what the guest does (see the result). */
export async function bootGuest(opts: BootOptions): Promise<BootResult> {
  const base = await prepareBase();
  const started = Date.now();
  const run = await mkdtemp(join(tmpdir(), 'chs-kernel-'));
  const servers: net.Server[] = [];
  const sockets = new Set<net.Socket>();
  let child: ChildProcess | undefined;
  const killQemu = (): void => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  };
  process.once('exit', killQemu);
  const progress = opts.onProgress ?? (() => undefined);
  const steps = new Map<string, StepResult>();
  let consoleText = '';
  let done = false;
  let reason: string | undefined;
  let firstReport = 0;
  const bridges: BridgeStats[] = [];
  const traces = new Map<string, string[]>();
  try {
    const initrd = join(run, 'initrd');
    await writeFile(initrd, Buffer.concat([await readFile(base.archive), opts.plan.overlay()]));
    // Ports: the control port first, then one per mount. One virtio-serial device carries at most
    // PORTS_PER_DEVICE of them: with 19 ports on one device, ports 13 and up took no data here
    // (qemu 7.2, Linux 6.1, TCG), so more devices are added as needed.
    const devices: string[] = [];
    let nPorts = 0;
    const addPort = (chardev: string, name: string): void => {
      const index = nPorts++;
      const bus = Math.floor(index / PORTS_PER_DEVICE);
      if (index % PORTS_PER_DEVICE === 0) devices.push('-device', `virtio-serial-pci,id=vs${bus}`);
      devices.push('-chardev', chardev, '-device', `virtserialport,bus=vs${bus}.0,chardev=${chardev.replace(/^socket,id=([^,]+),.*$/, '$1')},name=${name}`);
    };
    const ctlPath = join(run, 'ctl.sock');
    addPort(`socket,id=ctl,path=${ctlPath}`, 'chs-ctl');
    // 9P bridges, one per mount
    opts.plan.mounts.forEach((m, i) => {
      const path = join(run, `p${i}.sock`);
      const trace = process.env.CHESHIRE_KERNEL_TRACE ? [] : undefined;
      if (trace) traces.set(m.portName, trace);
      const b = bridge(path, m.portName, m.host ?? '127.0.0.1', m.port, sockets, trace);
      servers.push(b.server);
      bridges.push(b.stats);
      addPort(`socket,id=p${i},path=${path}`, m.portName);
    });
    // the control port: step reports and host requests
    let current: { label: string; started: number; out: string[] } | undefined;
    let finished!: () => void;
    const ended = new Promise<void>((resolve) => { finished = resolve; });
    const ctl = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
      let buf = '';
      let queue = Promise.resolve();
      s.on('data', (d: Buffer) => {
        buf += d.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (!firstReport) firstReport = Date.now();
          if (line.startsWith('@begin ')) {
            current = { label: line.slice(7), started: Date.now(), out: [] };
            progress(`[guest] ${current.label} ...`);
          } else if (line.startsWith('@out ')) {
            current?.out.push(line.slice(5));
          } else if (line.startsWith('@ok ') || line.startsWith('@fail ')) {
            const ok = line.startsWith('@ok ');
            const m = ok ? ['', '0', line.slice(4)] : /^@fail (\d+) (.*)$/.exec(line) ?? ['', '1', line.slice(6)];
            const label = m[2]!;
            const r: StepResult = { label, ok, rc: Number(m[1]), output: current?.label === label ? current.out.join('\n') : '', ms: current ? Date.now() - current.started : 0 };
            steps.set(label, r);
            progress(`[guest] ${ok ? 'ok  ' : 'FAIL'} ${label} (${r.ms} ms${ok ? '' : `, exit ${r.rc}`})${ok || !r.output ? '' : `\n${r.output.replace(/^/gm, '    | ')}`}`);
            current = undefined;
          } else if (line.startsWith('@req ')) {
            const req = line.slice(5);
            progress(`[host] request: ${req}`);
            queue = queue.then(async () => {
              let answer: string;
              try {
                answer = String(await (opts.onRequest ?? (() => 'error: no request handler'))(req));
              } catch (err) {
                answer = `error: ${(err as Error).message}`;
              }
              progress(`[host] answer: ${answer}`);
              s.write(`${answer.replace(/[\r\n]+/g, ' ')}\n`);
            });
          } else if (line.startsWith('@hello ')) {
            progress(`[guest] up: Linux ${line.slice(7)} (${Date.now() - started} ms)`);
          } else if (line === '@done') {
            done = true;
            finished();
          } else {
            progress(`[guest] ${line}`);
          }
        }
      });
    });
    servers.push(ctl);
    ctl.listen(ctlPath);
    await Promise.all(servers.map((s) => new Promise<void>((resolve, reject) => {
      if (s.listening) resolve();
      else { s.once('listening', resolve); s.once('error', reject); }
    })));

    const acc = accel();
    const args = [
      '-s', 'KILL', `${Math.ceil(opts.deadlineMs / 1000) + 5}s`, // outlives us if this process is killed
      base.qemu, '-accel', acc, ...(acc === 'kvm' ? ['-cpu', 'host'] : []),
      '-m', String(opts.memMb ?? 384), '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none',
      '-serial', 'stdio', '-no-reboot', '-nic', 'none',
      '-kernel', base.kernel.vmlinuz, '-initrd', initrd,
      // CHESHIRE_KERNEL_DEBUG=1 shows the kernel's boot messages in the console log
      '-append', `console=ttyS0 ${process.env.CHESHIRE_KERNEL_DEBUG ? 'loglevel=7' : 'quiet loglevel=3'} panic=-1 mitigations=off rdinit=/init`,
      ...devices,
    ];
    progress(`[host] booting ${base.kernel.release} (${acc}, base ${base.cached ? 'cached' : 'built'}, ${opts.plan.mounts.length} 9P ports)`);
    child = spawn('timeout', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout!.on('data', (d: Buffer) => { consoleText += d.toString('utf8').replace(/\r/g, ''); });
    child.stderr!.on('data', (d: Buffer) => { consoleText += d.toString('utf8'); });
    const exited = new Promise<string>((resolve) => {
      child!.on('error', (err) => resolve(`qemu could not start: ${err.message}`));
      child!.on('exit', (code, sig) => resolve(`qemu exited (${code ?? sig}) before the guest finished`));
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`deadline of ${opts.deadlineMs} ms reached`), opts.deadlineMs);
    });
    const end = await Promise.race([ended.then(() => undefined), exited, deadline]);
    clearTimeout(timer);
    if (end !== undefined) reason = end;
    if (done) {
      // poweroff -f follows @done at once; give qemu a moment to exit on its own
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    }
  } finally {
    killQemu();
    process.off('exit', killQemu);
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await rm(run, { recursive: true, force: true });
  }
  try {
    await mkdir(CACHE_DIR, { recursive: true });
    await writeFile(join(CACHE_DIR, 'last-console.log'), consoleText);
    for (const [name, lines] of traces) await writeFile(join(CACHE_DIR, `trace-${name}.log`), lines.join('\n') + '\n');
  } catch { /* diagnostics only */ }
  const missing = opts.plan.labels.filter((l) => !steps.has(l));
  return {
    kernel: base.kernel.release,
    accel: accel(),
    steps,
    missing,
    done,
    reason,
    bootMs: firstReport ? firstReport - started : 0,
    ms: Date.now() - started,
    console: consoleText,
    bridges,
  };
}

/** Why a step failed, for an assertion message: its exit status, its output, and the run's state. */
export function describeStep(r: BootResult, label: string): string {
  const s = r.steps.get(label);
  if (!s) return `${label}: the guest never reported it (${r.reason ?? 'no reason'}; last step reported: ${[...r.steps.keys()].at(-1) ?? 'none'})`;
  const why = s.rc === 137 ? 'killed by the guest-side timeout (exit 137)' : `exit ${s.rc}`;
  return `${label}: ${why}${s.output ? `\n${s.output}` : ''}`;
}

