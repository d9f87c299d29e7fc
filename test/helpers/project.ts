// Test helpers: a throw-away Cheshire project in a temp dir (cheshire.json, a role, modules),
// a host started on it with its log captured, deadline-bound waiting (deadline.ts), and small HTTP calls.
import { cp, mkdtemp, mkdir, rm, writeFile, rename } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Host } from '../../core/host.ts';
import { createLogging, type LogRecord } from '../../core/log.ts';

/** Polling with a deadline lives with the other waits (deadline.ts); kept here for the tests that import it from here. */
export { waitFor } from './deadline.ts';

export const REPO = join(import.meta.dirname, '../..');

export interface ModuleSpec {
  /** package.json `cheshire` field. */
  cheshire?: Record<string, unknown>;
  version?: string;
  /** index.ts source. */
  index: string;
  /** Other files, path relative to the module folder -> content. */
  files?: Record<string, string>;
  /** Folder name (default: the module name). */
  folder?: string;
}

export interface Project {
  dir: string;
  configFile: string;
  modulePath(folder: string, file?: string): string;
  writeModule(name: string, spec: ModuleSpec): Promise<void>;
  /** Overwrites a file in place. */
  write(rel: string, content: string): Promise<void>;
  /** Writes a temp file next to it and renames it over (an editor's atomic save). */
  writeAtomic(rel: string, content: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function makeProject(opts: {
  modules: Record<string, ModuleSpec>;
  /** Modules of the repository to copy in (e.g. the examples hello, greeter, shout). */
  copy?: string[];
  role: string[];
  required?: string[];
  config?: Record<string, unknown>;
}): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), 'chs-test-'));
  const p: Project = {
    dir,
    configFile: join(dir, 'cheshire.json'),
    modulePath: (folder, file = 'index.ts') => join(dir, 'modules', folder, file),
    async writeModule(name, spec) {
      const folder = join(dir, 'modules', spec.folder ?? name);
      await mkdir(folder, { recursive: true });
      const pkg = { name, version: spec.version ?? '1.0.0', type: 'module', cheshire: spec.cheshire ?? {} };
      await writeFile(join(folder, 'package.json'), JSON.stringify(pkg, null, 2));
      await writeFile(join(folder, 'index.ts'), spec.index);
      for (const [rel, content] of Object.entries(spec.files ?? {})) {
        await mkdir(dirname(join(folder, rel)), { recursive: true });
        await writeFile(join(folder, rel), content);
      }
    },
    write: (rel, content) => writeFile(join(dir, rel), content),
    async writeAtomic(rel, content) {
      const target = join(dir, rel);
      const tmp = join(dirname(target), `.${Date.now()}.swp`);
      await writeFile(tmp, content);
      await rename(tmp, target);
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  // Nothing of the repository is linked in: modules import only cheshire/sdk (the host's copy)
  // and packages the host resolves for them, as a module anywhere on disk does.
  for (const [name, spec] of Object.entries(opts.modules)) await p.writeModule(name, spec);
  for (const name of opts.copy ?? []) await cp(join(REPO, 'modules', name), join(dir, 'modules', name), { recursive: true });
  await mkdir(join(dir, 'config/roles'), { recursive: true });
  await writeFile(join(dir, 'config/roles/test.json'), JSON.stringify({ modules: opts.role, required: opts.required ?? [] }));
  const config = {
    node: 'test',
    role: 'test',
    moduleDirs: ['modules'],
    stateDir: '.cheshire',
    supervisor: { maxRestarts: 3, windowMs: 10_000, backoffMs: 20, backoffMaxMs: 200 },
    dependencies: { waitMs: 2_000 },
    watch: { enabled: true },
    // The type checker's worker (~2 s of CPU, ~200 MB) only where a test asks for it.
    typecheck: { enabled: false },
    ...opts.config,
  };
  await writeFile(p.configFile, JSON.stringify(config, null, 2));
  return p;
}

export interface TestHost {
  host: Host;
  logs: LogRecord[];
  /** Log messages (optionally of one instance). */
  messages(module?: string): string[];
  close(): Promise<void>;
}

export async function startHost(project: Project, opts: { watch?: boolean; role?: string } = {}): Promise<TestHost> {
  const logging = createLogging({ out: process.env.CHESHIRE_TEST_LOG ? undefined : null, level: 'debug' });
  const logs: LogRecord[] = [];
  logging.hub.on('record', (r) => logs.push(r));
  const host = new Host({ configFile: project.configFile, logging, watch: opts.watch ?? true, role: opts.role });
  await host.start();
  return {
    host,
    logs,
    messages: (module) => logs.filter((r) => !module || r.module === module).map((r) => r.msg),
    close: () => host.close(),
  };
}


export interface HttpReply {
  status: number;
  body: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export function get(url: string, timeoutMs = 3_000): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export function closeAgent(): void {
  agent.destroy();
}

/** A module whose start records events in globalThis.__events (shared by all test modules). */
export function recorder(name: string, body = ''): string {
  return `
const g = globalThis as any;
g.__events ??= [];
export async function start(ctx: any) {
  g.__events.push('start ${name}');
  ctx.onStop(() => { g.__events.push('stop ${name}'); });
  ${body}
  return { name: '${name}', version: ctx.version, deps: ctx.deps };
}
`;
}

export function events(): string[] {
  const g = globalThis as { __events?: string[] };
  g.__events ??= [];
  return g.__events;
}

/**
 * Runs `body` while `clients` loops keep calling `request` (which answers whether the reply was
 * right, or throws); resolves with how many were right and what went wrong otherwise.
 */
export async function underLoad(clients: number, request: () => Promise<string | true>, body: () => Promise<void>): Promise<{ ok: number; failures: string[] }> {
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loop = async () => {
    while (!stop) {
      try {
        const r = await request();
        if (r === true) ok++;
        else failures.push(r);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const running = Array.from({ length: clients }, loop);
  try {
    await body();
  } finally {
    stop = true;
    await Promise.all(running);
  }
  return { ok, failures };
}
