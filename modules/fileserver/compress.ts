// Precompression: br and gzip codings are made once (at asset load or upload commit) on the
// libuv pool, and kept only when they save at least 10%. Brotli's best quality is slow, so it is
// used for small files only; bigger ones get a middle quality.
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** Files smaller than this are not worth a coding (the headers dwarf the saving). */
export const COMPRESS_MIN = 256;
const BEST_MAX = 1024 * 1024;

export interface Codings { br: Buffer | undefined; gzip: Buffer | undefined }

export async function compressBoth(data: Buffer): Promise<Codings> {
  if (data.length < COMPRESS_MIN) return { br: undefined, gzip: undefined };
  const small = data.length <= BEST_MAX;
  const [b, g] = await Promise.all([
    brotli(data, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: small ? 11 : 5,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
      },
    }),
    gzip(data, { level: small ? 9 : 6 }),
  ]);
  const worth = (c: Buffer) => (c.length <= data.length * 0.9 ? c : undefined);
  return { br: worth(b), gzip: worth(g) };
}
