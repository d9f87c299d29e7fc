// installModule: fetch a module (npm spec, tarball, URL, folder, or another node's 9P tree) into
// a work folder of the store, check its descriptor and pins before anything runs or installs,
// install its dependencies with npm, and rename it into `<store>/NAME@VERSION` when complete.
// On any failure or abort the work folder is removed: the store is as it was.
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readDescriptor } from '../descriptor.ts';
import { CheshireError, chsError } from '../errors.ts';
import { installDeps, needsNpm } from './deps.ts';
import { fetchNineP, type NinePFetcher } from './fetch-9p.ts';
import { extractTarball, fetchTarball, type FetchOptions } from './fetch-npm.ts';
import type { InstallProgress } from './progress.ts';
import { parseInstallSpec, type InstallSpec } from './spec.ts';
import { entryName, existsError, makeWorkDir, placeEntry, writeRecord, type InstalledModule } from './store.ts';
import { pruneHidden, treeHash } from './tree-hash.ts';

export interface InstallOptions {
  /** The node's module store (`<stateDir>/modules-store`, see MODULE_STORE_DIRNAME). */
  storeDir: string;
  /** Replace an installed NAME@VERSION instead of refusing it. */
  force?: boolean;
  onProgress?: (p: InstallProgress) => void;
  signal?: AbortSignal;
  /** Reads a folder of a 9P tree (default: our 9P client, fetch-9p.ts). */
  fetchNineP?: NinePFetcher;
  /** Shared secret for a 9P server that asks for one. */
  secret?: string;
  /** Base folder for relative paths (default: the process's cwd). */
  cwd?: string;
  /** npm's cache folder, for pacote and npm (default: npm's). */
  cache?: string;
  /** Registry for names (default: npm's configured one when run by npm, else registry.npmjs.org). */
  registry?: string;
  /** Install dependencies with npm --offline. */
  offline?: boolean;
}

export type InstallResult = InstalledModule;

export async function installModule(spec: string, given: InstallOptions): Promise<InstallResult> {
  const opts = { ...given, storeDir: resolve(given.storeDir) };
  const { signal } = opts;
  const progress = (p: InstallProgress) => opts.onProgress?.(p);
  const parsed = parseInstallSpec(spec, opts.cwd);
  if (signal?.aborted) throw chsError('CHS_ERR_INSTALL_ABORTED', `install of ${parsed.spec} was cancelled before it began`, signal.reason);
  progress({ phase: 'resolve' });
  if (parsed.source.kind === 'npm' && parsed.source.folder) readDescriptorOf(parsed, parsed.source.folder); // a folder is checked before it is packed
  const work = await makeWorkDir(opts.storeDir);
  try {
    return await installInto(work, parsed, opts, progress);
  } catch (err) {
    if (signal?.aborted) throw chsError('CHS_ERR_INSTALL_ABORTED', `install of ${parsed.spec} was cancelled; nothing was kept`, err);
    throw err;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function installInto(work: string, parsed: InstallSpec, opts: InstallOptions, progress: (p: InstallProgress) => void): Promise<InstallResult> {
  const { signal } = opts;
  const { pin } = parsed;
  const pkgDir = join(work, 'package');
  const onBytes = (done: number, total: number | undefined) => progress({ phase: 'fetch', done, ...(total ? { total } : {}) });
  let integrity: string;
  let sha256: string;
  let resolved: string;

  progress({ phase: 'fetch' });
  if (parsed.source.kind === '9p') {
    if (pin.sha512) throw chsError('CHS_ERR_INSTALL_SPEC', `${parsed.spec}: a 9P tree has no tarball for #sha512-; pin it with #sha256= (the file-list hash)`);
    await mkdir(pkgDir);
    const fetcher = opts.fetchNineP ?? fetchNineP;
    await fetcher({ address: parsed.source.address, treePath: parsed.source.treePath }, pkgDir, { ...(signal ? { signal } : {}), ...(opts.secret ? { secret: opts.secret } : {}), onBytes });
    resolved = `9p://${parsed.source.address}${parsed.source.treePath}`;
    integrity = sha256 = '';
  } else {
    const fo: FetchOptions = {
      where: opts.cwd ?? process.cwd(),
      ...(opts.cache ? { cache: opts.cache } : {}),
      ...(opts.registry ?? process.env.npm_config_registry ? { registry: opts.registry ?? process.env.npm_config_registry } : {}),
      ...(pin.sha512 ? { integrity: pin.sha512 } : {}),
      ...(signal ? { signal } : {}),
      onBytes,
    };
    const tgz = await fetchTarball(parsed.source.spec, parsed.source.folder, work, fo);
    signal?.throwIfAborted();
    ({ integrity, sha256, resolved } = tgz);
    if (pin.sha256 && !parsed.source.folder && pin.sha256 !== sha256) throw integrityError(parsed, 'the tarball', pin.sha256, sha256);
    progress({ phase: 'extract' });
    await extractTarball(tgz.file, pkgDir, fo);
    await rm(tgz.file, { force: true });
    // A folder lands as /modules/M/source shows it and as its hash covers it: no dot-files.
    if (parsed.source.folder) await pruneHidden(pkgDir);
  }
  signal?.throwIfAborted();

  // Nothing has run and no dependency is installed yet: the descriptor decides whether anything will.
  progress({ phase: 'verify' });
  const desc = readDescriptorOf(parsed, pkgDir);
  const files = await treeHash(pkgDir);
  if (parsed.source.kind === '9p' || parsed.source.folder) {
    sha256 = files.sha256;
    integrity = `files-sha256:${files.sha256}`;
    if (pin.sha256 && pin.sha256 !== sha256) throw integrityError(parsed, 'the file list', pin.sha256, sha256);
  }
  const target = join(opts.storeDir, entryName(desc.name, desc.version));
  if (!opts.force && (await stat(target).catch(() => undefined))) throw existsError(desc.name, desc.version, target);

  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  if (needsNpm(pkg)) {
    progress({ phase: 'deps' });
    await installDeps(pkgDir, {
      ...(signal ? { signal } : {}),
      ...(opts.cache ? { cache: opts.cache } : {}),
      ...(opts.registry ? { registry: opts.registry } : {}),
      ...(opts.offline ? { offline: true } : {}),
    });
  }
  signal?.throwIfAborted();

  progress({ phase: 'store' });
  const record = { name: desc.name, version: desc.version, integrity, sha256, source: parsed.spec, resolved, installedAt: new Date().toISOString() };
  await writeRecord(pkgDir, record);
  const dir = await placeEntry(pkgDir, work, opts.storeDir, desc.name, desc.version, opts.force ?? false);
  progress({ phase: 'done' });
  return { ...record, dir };
}

/** The descriptor, or CHS_ERR_DESCRIPTOR_INVALID naming the spec rather than a temp path. */
function readDescriptorOf(parsed: InstallSpec, dir: string) {
  try {
    return readDescriptor(dir);
  } catch (err) {
    if (!(err instanceof CheshireError)) throw err;
    const why = err.message.replace(/^CHS_ERR_DESCRIPTOR_INVALID: .*?package\.json: /, '');
    throw chsError('CHS_ERR_DESCRIPTOR_INVALID', `${parsed.spec}${packageId(dir)} is not a Cheshire module: ${why}; nothing was installed`, err);
  }
}

function packageId(dir: string): string {
  try {
    const { name, version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
    return typeof name === 'string' ? ` (${name}${typeof version === 'string' ? `@${version}` : ''})` : '';
  } catch {
    return '';
  }
}

function integrityError(parsed: InstallSpec, what: string, want: string, got: string): Error {
  return chsError('CHS_ERR_INSTALL_INTEGRITY', `${parsed.spec}: ${what} hashes to sha256=${got}, the pin says sha256=${want}; nothing was installed`);
}
