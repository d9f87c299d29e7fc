// Copies a module folder out of a 9P tree — another node's /modules/NAME/source (or any folder
// of a tree, /net/NODE/... included) — through our own 9P client. Only directories and regular
// files are copied; names starting with "." and node_modules are skipped (the installer gets the
// dependencies from npm), as are symlinks. Names are checked, sizes and counts are capped.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '../../fs/client/client.ts';
import { QTAUTH, QTDIR, QTMOUNT, QTSYMLINK } from '../../fs/codec/constants.ts';
import { connectNode, remoteText } from '../cli/node-client.ts';
import { chsError } from '../errors.ts';
import { hiddenName } from './tree-hash.ts';

export interface NinePTarget {
  /** HOST:PORT */
  address: string;
  /** The folder in the tree, e.g. /modules/hello/source. */
  treePath: string;
}

export interface NinePFetchOptions {
  signal?: AbortSignal;
  /** The server's shared secret, when it asks for one. */
  secret?: string;
  onBytes?: (done: number, total: number | undefined) => void;
  maxBytes?: number;
  maxFiles?: number;
}

/** Copies the folder at `target` into `dest` (which exists and is empty). */
export type NinePFetcher = (target: NinePTarget, dest: string, opts: NinePFetchOptions) => Promise<{ files: number; bytes: number }>;

export const NINEP_MAX_BYTES = 256 * 1024 * 1024;
export const NINEP_MAX_FILES = 20_000;

interface Item { path: string; size: number; exec: boolean }

export const fetchNineP: NinePFetcher = async (target, dest, opts) => {
  const where = `${target.address}${target.treePath}`;
  const fail = (what: string, err?: unknown) => chsError('CHS_ERR_INSTALL_FETCH', `${where}: ${what}${err ? ` (${remoteText(err)})` : ''}`, err);
  const maxBytes = opts.maxBytes ?? NINEP_MAX_BYTES;
  const maxFiles = opts.maxFiles ?? NINEP_MAX_FILES;
  let client: Client;
  try {
    client = await connectNode(target.address, { ...(opts.secret ? { secret: opts.secret } : {}), what: '9P server' });
  } catch (err) {
    throw fail('cannot connect', err);
  }
  const onAbort = () => { void client.close(); };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const signal = opts.signal;
    const items: Item[] = [];
    const dirs: string[] = [];
    let total = 0;
    const walk = async (rel: string): Promise<void> => {
      const entries = await client.ls(rel ? `${target.treePath}/${rel}` : target.treePath, { attrs: true, ...(signal ? { signal } : {}) })
        .catch((err: unknown) => { throw fail(rel ? `cannot list ${rel}` : 'cannot list the folder (is it a module folder of that tree?)', err); });
      for (const e of entries) {
        if (!e.name || e.name === '.' || e.name === '..' || /[/\0]/.test(e.name)) throw fail(`the server sent an invalid name ${JSON.stringify(e.name)}`);
        if (hiddenName(e.name)) continue;
        const path = rel ? `${rel}/${e.name}` : e.name;
        if (e.qid.type & QTDIR) {
          dirs.push(path);
          await walk(path);
        } else if (!(e.qid.type & (QTSYMLINK | QTAUTH | QTMOUNT))) {
          items.push({ path, size: Number(e.size), exec: (e.mode & 0o111) !== 0 });
          total += Number(e.size);
          if (items.length > maxFiles) throw fail(`more than ${maxFiles} files`);
          if (total > maxBytes) throw fail(`more than ${maxBytes} bytes`);
        }
      }
    };
    await walk('');
    if (!items.some((i) => i.path === 'package.json')) throw fail('no package.json there (name a module folder, e.g. HOST:PORT/modules/NAME)');
    for (const d of dirs) await mkdir(join(dest, d), { recursive: true });
    let done = 0;
    for (const item of items) {
      signal?.throwIfAborted();
      const data = await client.readFile(`${target.treePath}/${item.path}`, { maxBytes: maxBytes - done, ...(signal ? { signal } : {}) })
        .catch((err: unknown) => { throw fail(`cannot read ${item.path}`, err); });
      await writeFile(join(dest, item.path), data, { mode: item.exec ? 0o755 : 0o644 });
      done += data.length;
      opts.onBytes?.(done, total);
    }
    return { files: items.length, bytes: done };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await client.close().catch(() => undefined);
  }
};
