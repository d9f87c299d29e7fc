// Our 9P server for bench/9p.ts, in a process of its own so the benchmark's own CPU use is not
// counted against it. Usage: node --import tsx bench/9p-server.ts PORT [BULK_MIB=64]
//   aname "ctl": zero and null devices (what diodload attaches to and copies between)
//   any other aname: an in-memory tree (memfs) holding `big`, BULK_MIB MiB, for diodcat
// Prints "READY <port>" once listening; exits on SIGTERM/SIGINT after closing the server.
import { nullFile, zero } from '../fs/tree/devices.ts';
import { memfs } from '../fs/tree/memfs.ts';
import type { MemFile } from '../fs/tree/memfs.ts';
import { root } from '../fs/tree/synthetic.ts';
import { NineServer } from '../fs/server/server.ts';

const port = Number(process.argv[2] ?? 0);
const bulkMiB = Number(process.argv[3] ?? 64);

const ctl = root([zero('zero'), nullFile('null')]);
const mem = memfs({ maxBytes: (bulkMiB + 1) << 20 });
const big = mem.create({ name: 'big', dir: false, perm: 0o644, nUid: 0, nGid: 0, uid: 'cheshire' }) as MemFile;
const chunk = Buffer.alloc(1 << 20);
for (let i = 0; i < bulkMiB; i++) {
  chunk.fill(i & 0xff);
  big.writeAt(i << 20, chunk);
}

const server = new NineServer({
  attach: (r) => (r.aname === 'ctl' ? ctl : mem),
  onError: (e) => console.error(e),
});
const addr = await server.listen(port, '127.0.0.1');
console.log(`READY ${addr.port}`);

const stop = (): void => { void server.close().then(() => process.exit(0)); };
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
