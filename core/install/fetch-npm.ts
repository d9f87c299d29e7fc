// Fetches what pacote (npm's own fetcher) can: a registry name@range or @tag, a tarball file, an
// http(s) tarball URL or a folder (packed the way `npm pack` does, never running its scripts), to
// a tarball file in the work folder, hashing the bytes on the way; then extracts it with pacote.
// Registry tarballs are checked by pacote against the integrity the registry records.
import { createHash } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import pacote, { type PacoteOptions, type TarballStream } from 'pacote';
import { chsError } from '../errors.ts';

export interface FetchOptions {
  /** npm's cache folder (default: npm's). */
  cache?: string;
  registry?: string;
  /** Base folder for relative paths. */
  where: string;
  /** npm's integrity string to check the tarball against (`#sha512-…`). */
  integrity?: string;
  signal?: AbortSignal;
  onBytes?: (done: number, total: number | undefined) => void;
}

export interface FetchedTarball {
  file: string;
  bytes: number;
  /** npm's integrity string of the bytes (`sha512-BASE64`). */
  integrity: string;
  sha256: string;
  resolved: string;
}

export function pacoteOptions(o: FetchOptions, folder?: string): PacoteOptions {
  return {
    where: o.where,
    // Nothing runs while fetching: a folder's `prepare` script is skipped, git (whose fetch
    // prepares a clone with npm) is refused.
    ignoreScripts: true,
    allowGit: 'none',
    ...(o.cache ? { cache: o.cache } : {}),
    ...(o.registry ? { registry: o.registry } : {}),
    ...(o.integrity ? { integrity: o.integrity } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
    // pacote packs a folder with npm-packlist, which wants the folder as an Arborist node; these
    // are the fields it reads (bundled dependencies are not packed: npm installs them).
    ...(folder ? { tree: { path: folder, package: readPackage(folder), isProjectRoot: true, edgesOut: new Map(), workspaces: null } } : {}),
  };
}

function readPackage(folder: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as Record<string, unknown>;
}

/** Downloads (or packs) `spec` to `<workDir>/package.tgz`. */
export async function fetchTarball(spec: string, folder: string | undefined, workDir: string, o: FetchOptions): Promise<FetchedTarball> {
  const file = join(workDir, 'package.tgz');
  const total = folder ? undefined : await localSize(spec, o.where);
  // pacote may call the handler again (a retried request, a cache miss): each call starts the
  // file over. The error listener is attached at once: pacote's streams may fail before a byte
  // flows (a cache entry that is not there), and an unheard 'error' would end the process.
  const handler = (stream: TarballStream) => new Promise<Omit<FetchedTarball, 'resolved'>>((resolve, reject) => {
    const out = createWriteStream(file);
    const h256 = createHash('sha256');
    const h512 = createHash('sha512');
    let bytes = 0;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      out.destroy();
      reject(err);
    };
    const onAbort = () => fail(o.signal!.reason);
    stream.on('error', fail);
    out.on('error', fail);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      h256.update(chunk);
      h512.update(chunk);
      bytes += chunk.length;
      o.onBytes?.(bytes, total);
      if (!out.write(chunk)) {
        stream.pause();
        out.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => out.end(() => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', onAbort);
      resolve({ file, bytes, integrity: `sha512-${h512.digest('base64')}`, sha256: h256.digest('hex') });
    }));
  });
  try {
    // One packument request for both calls (a registry spec is resolved, then fetched).
    const po = { ...pacoteOptions(o, folder), packumentCache: new Map() };
    const resolved = folder ?? (await pacote.resolve(spec, po));
    const got = await pacote.tarball.stream(spec, handler, po);
    return { ...got, resolved };
  } catch (err) {
    throw fetchError(spec, err);
  }
}

async function localSize(spec: string, where: string): Promise<number | undefined> {
  const path = spec.startsWith('file:') ? spec.slice(5) : spec;
  if (!/^(\.{1,2}\/|\/)/.test(path)) return undefined;
  return (await stat(join(path.startsWith('/') ? '' : where, path)).catch(() => undefined))?.size;
}

/** Unpacks the tarball into `dest` (pacote: the package/ prefix stripped, modes normalised). */
export async function extractTarball(tarball: string, dest: string, o: FetchOptions): Promise<void> {
  try {
    await pacote.extract(`file:${tarball}`, dest, { ...pacoteOptions({ ...o, integrity: undefined }), where: '/' });
  } catch (err) {
    throw chsError('CHS_ERR_INSTALL_FETCH', `the tarball could not be unpacked, it is damaged or truncated (${(err as Error).message})`, err);
  }
}

const SPEC_CODES = new Set(['EINVALIDTAGNAME', 'EINVALIDPACKAGENAME', 'EUNSUPPORTEDPROTOCOL', 'EALLOWGIT', 'ETARGET', 'EINVALIDTYPE']);

/** pacote's and npm-registry-fetch's errors as ours, naming the spec. */
export function fetchError(spec: string, err: unknown): Error {
  const e = err as Error & { code?: string; statusCode?: number };
  if (e.code === 'EINTEGRITY') return chsError('CHS_ERR_INSTALL_INTEGRITY', `${spec}: the tarball does not match its integrity (${e.message})`, err);
  if (e.code === 'EALLOWGIT') return chsError('CHS_ERR_INSTALL_SPEC', `${spec}: git specs are not installed (publish a tarball, or install the folder)`, err);
  if (e.code && SPEC_CODES.has(e.code)) return chsError('CHS_ERR_INSTALL_SPEC', `${spec}: ${e.message}`, err);
  if (e.code === 'E404' || e.statusCode === 404) return chsError('CHS_ERR_INSTALL_FETCH', `${spec}: not found (${e.message})`, err);
  if (e.message === 'aborted' || e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return chsError('CHS_ERR_INSTALL_FETCH', `${spec}: the download was cut off (${e.code ?? e.message})`, err);
  }
  return chsError('CHS_ERR_INSTALL_FETCH', `${spec}: ${e.message}`, err);
}
