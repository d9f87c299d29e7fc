// App assets: a directory read whole into memory (each file with its sha256, content type and
// br/gzip codings), served by exact relative path. `load` builds a complete new set; the
// caller swaps it in at once, so a request sees the old build or the new one, never a mix.
// Only regular files and directories are read (symlinks are skipped: nothing outside the
// directory can be pulled in), and the total is bounded by `maxBytes`.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compressBoth } from './compress.ts';
import { makeEntry, type Entry } from './entry.ts';
import { compressible, contentType } from './mime.ts';

export interface AssetSet {
  dir: string;
  /** relative path (`css/app.css`) -> entry */
  files: Map<string, Entry>;
  bytes: number;
  generation: number;
  loadedAt: number;
}

export async function loadAssets(dir: string, cacheControl: string, maxBytes: number, generation: number): Promise<AssetSet> {
  const files = new Map<string, Entry>();
  let bytes = 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    const list = await readdir(abs, { withFileTypes: true });
    list.sort((a, b) => a.name.localeCompare(b.name));
    for (const d of list) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) await walk(join(abs, d.name), r);
      else if (d.isFile()) {
        const data = await readFile(join(abs, d.name));
        bytes += data.length;
        if (bytes > maxBytes) throw new Error(`assets in ${dir} exceed assetsMaxBytes (${maxBytes} bytes)`);
        const type = contentType(d.name);
        const sha = createHash('sha256').update(data).digest('hex');
        const c = compressible(type) ? await compressBoth(data) : { br: undefined, gzip: undefined };
        files.set(r, makeEntry({
          sha, type, cacheControl,
          identity: { size: data.length, body: data },
          br: c.br && { size: c.br.length, body: c.br },
          gzip: c.gzip && { size: c.gzip.length, body: c.gzip },
        }));
      }
    }
  };
  if (dir) await walk(dir, '');
  return { dir, files, bytes, generation, loadedAt: Date.now() };
}
