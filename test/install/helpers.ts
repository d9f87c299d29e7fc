// Helpers for the install tests: a temp root with a store and an npm cache of its own, module
// packages made with the real `npm pack` (one with a dependency given as a local tarball, which
// npm installs offline), loopback HTTP servers (tarballs, a tiny registry, cut and stalled
// downloads), and checks that an install left nothing behind.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { npmCommand } from '../../core/install/deps.ts';
import { hiddenName } from '../../core/install/tree-hash.ts';

export interface Fixture {
  root: string;
  store: string;
  /** npm's cache for pacote and npm, inside the fixture: nothing lands in ~/.npm. */
  cache: string;
  cleanup(): Promise<void>;
}

export async function fixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'chs-install-'));
  const store = join(root, 'state', 'modules-store');
  const cache = join(root, 'npm-cache');
  return { root, store, cache, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** What every test install passes: the fixture's store and cache, npm --offline. */
export const base = (f: Fixture) => ({ storeDir: f.store, cache: f.cache, offline: true });

export async function writeFiles(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), content);
  }
}

/** Runs the host's npm; fails with its output when it exits non-zero. */
export function npm(args: string[], cwd: string): Promise<string> {
  const { cmd, args: pre } = npmCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_update_notifier: 'false' } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`npm ${args.join(' ')} in ${cwd} exited ${code}: ${out}`))));
  });
}

/** `npm pack` of a folder into `dest`; returns the tarball's path. */
export async function npmPack(dir: string, dest: string): Promise<string> {
  await mkdir(dest, { recursive: true });
  const out = await npm(['pack', '--pack-destination', dest, '--ignore-scripts', '--json', '--loglevel=error'], dir);
  const [first] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string }>;
  return join(dest, first!.filename);
}

export const INDEX_WITH_DEP = `import dep from 'dep';
import { serveHttp } from 'cheshire/sdk';

export async function start(ctx: any) {
  await serveHttp(ctx, '127.0.0.1', ctx.config.port, (_req, res) => { res.end(dep.hi(ctx.version)); });
}
`;

/**
 * A module folder `<root>/src/NAME-VERSION`: an HTTP module whose answer comes from its one
 * dependency `dep`, shipped inside it as deps/dep-1.0.0.tgz (made by npm pack) and depended on as
 * `file:deps/dep-1.0.0.tgz`, so npm installs it offline. `pkg` overrides package.json fields.
 */
export async function moduleFolder(root: string, name: string, version: string, pkg: Record<string, unknown> = {}, files: Record<string, string> = {}): Promise<string> {
  const depDir = join(root, 'src', 'dep');
  const tgz = join(root, 'src', 'dep-tgz', 'dep-1.0.0.tgz');
  if (!(await readdir(dirname(tgz)).catch(() => [])).length) {
    await writeFiles(depDir, {
      'package.json': JSON.stringify({ name: 'dep', version: '1.0.0', main: 'index.js' }),
      'index.js': 'module.exports = { hi: (v) => `hi from dep, module v${v}\\n` };\n',
    });
    await npmPack(depDir, dirname(tgz));
  }
  const dir = join(root, 'src', `${name}-${version}`);
  await writeFiles(dir, {
    'package.json': JSON.stringify({
      name, version, type: 'module',
      cheshire: { config: { schema: { type: 'object', properties: { port: { type: 'integer' } } }, defaults: { port: 0 } } },
      dependencies: { dep: 'file:deps/dep-1.0.0.tgz' },
      ...pkg,
    }, null, 2),
    'index.ts': INDEX_WITH_DEP,
    'lib/util.ts': 'export const answer = 42;\n',
    ...files,
  });
  await mkdir(join(dir, 'deps'), { recursive: true });
  await writeFile(join(dir, 'deps', 'dep-1.0.0.tgz'), await readFile(tgz));
  return dir;
}

/** A module folder packed by npm pack: `<root>/tgz/NAME-VERSION.tgz`. */
export async function moduleTarball(root: string, name: string, version: string, pkg: Record<string, unknown> = {}): Promise<string> {
  return npmPack(await moduleFolder(root, name, version, pkg), join(root, 'tgz'));
}

/** Every entry of the store, dot-names (work folders) included. */
export async function storeEntries(store: string): Promise<string[]> {
  return (await readdir(store).catch(() => [] as string[])).sort();
}

/** Fails unless the store holds exactly `names` (no work folder, no partial install). */
export async function assertStore(store: string, names: string[], what: string): Promise<void> {
  assert.equal(await storeEntries(store), [...names].sort(), `${what}: the store holds exactly ${names.join(', ') || 'nothing'}`);
}

/** The code a promise rejects with (fails if it resolves). */
export async function rejectsWith(p: Promise<unknown>, code: string, what: string): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.is((err as { code?: string }).code, code, `${what}: expected ${code}, got ${(err as Error).message}`);
    return err as Error;
  }
  assert.unreachable(`${what}: expected ${code}, it succeeded`);
  throw new Error('unreachable');
}

/** A module folder's files as the source view and the hash see them: path -> bytes. */
export async function moduleFiles(dir: string, rel = '', out = new Map<string, Buffer>()): Promise<Map<string, Buffer>> {
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    if (hiddenName(e.name)) continue;
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await moduleFiles(dir, path, out);
    else if (e.isFile()) out.set(path, await readFile(join(dir, path)));
  }
  return out;
}

export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const sha512 = (b: Buffer): string => `sha512-${createHash('sha512').update(b).digest('base64')}`;

export interface Served {
  url: string;
  port: number;
  /** Request paths seen, in order. */
  seen: string[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1 (a free port); close() also destroys open sockets. */
export async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, socket: Socket) => void): Promise<Served> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    handler(req, res, req.socket);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Serves `bytes` at any path. */
export const serveBytes = (bytes: Buffer) => serve((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length });
  res.end(bytes);
});
