// Real 9P2000.L peers from Debian's diod package: diodls/diodcat/diodload against our server,
// and our client against the diod server exporting a temp dir. Missing binaries fail the test
// with "install diod" (see test/helpers/diod.ts), never skip it.
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { diodBinary, runTool, startDiod } from '../../test/helpers/diod.ts';
import { Client } from '../client/client.ts';
import { RemoteError } from '../errors.ts';
import type { FsError } from '../errors.ts';
import { nullFile, zero } from '../tree/devices.ts';
import { dir, file, root, stream } from '../tree/synthetic.ts';
import { NineServer } from './server.ts';

const BIG = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7) % 256));

async function withOurServer(body: (addr: string, server: NineServer, attached: string[]) => Promise<void>): Promise<void> {
  const ctlTree = root([zero('zero'), nullFile('null')]);
  const log = stream('log');
  log.append('one');
  const main = root([
    file('hello', { read: () => 'hello world\n' }),
    file('big', { read: () => BIG }),
    dir('sub', [file('x', { read: () => 'x\n' }), dir('deeper', [file('y', { read: () => 'y\n' })])]),
    log,
  ]);
  const attached: string[] = [];
  const faults: unknown[] = [];
  const server = new NineServer({
    attach: (r) => { attached.push(r.aname); return r.aname === 'ctl' ? ctlTree : main; },
    onError: (e) => faults.push(e),
  });
  try {
    const { port } = await server.listen(0, '127.0.0.1');
    await body(`127.0.0.1:${port}`, server, attached);
    assert.equal(faults, [], 'no tree faults');
  } finally {
    await server.close();
  }
}

test('diodls lists our tree (short and long)', () => withOurServer(async (addr, _s, attached) => {
  const ls = diodBinary('diodls');
  const r = await runTool(ls, ['-s', addr, '-a', '/', '-t', '5', '/'], 8000);
  assert.is(r.code, 0, `diodls failed: ${r.stderr}`);
  assert.equal(r.stdout.trim().split('\n').sort(), ['big', 'hello', 'log', 'sub']);
  const l = await runTool(ls, ['-l', '-s', addr, '-a', '/', '-t', '5', 'sub'], 8000);
  assert.is(l.code, 0, `diodls -l failed: ${l.stderr}`);
  assert.match(l.stdout, /^d.*deeper$/m);
  assert.match(l.stdout, /^-r--r--r--.* x$/m);
  assert.ok(attached.includes('/'));
}));

test('diodcat reads files, including one bigger than msize; a missing file fails cleanly', () => withOurServer(async (addr) => {
  const cat = diodBinary('diodcat');
  const r = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'hello', 'sub/deeper/y'], 8000);
  assert.is(r.code, 0, `diodcat failed: ${r.stderr}`);
  assert.is(r.stdout, 'hello world\ny\n');
  const big = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'big'], 8000);
  assert.is(big.code, 0, big.stderr);
  assert.ok(big.stdoutBytes.equals(BIG), `diodcat big: ${big.stdoutBytes.length} bytes, expected ${BIG.length} identical`);
  const missing = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'nope'], 8000);
  assert.ok(missing.code !== 0, 'diodcat of a missing file exits non-zero');
  const again = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'hello'], 8000);
  assert.is(again.stdout, 'hello world\n');
}));

test('diodload (zero -> null, and getattr) runs against aname ctl and stops by itself', () => withOurServer(async (addr, server, attached) => {
  const load = diodBinary('diodload');
  const rw = await runTool(load, ['-s', addr, '-n', '2', '-r', '1'], 15000);
  assert.is(rw.code, 0, `diodload failed: ${rw.stderr}`);
  const ops = Number(/(\d+) ops\/s/.exec(rw.stdout + rw.stderr)?.[1] ?? 0);
  assert.ok(ops > 0, `diodload reported ops: ${rw.stdout}${rw.stderr}`);
  const g = await runTool(load, ['-g', '-s', addr, '-n', '4', '-r', '1'], 15000);
  assert.is(g.code, 0, `diodload -g failed: ${g.stderr}`);
  const gops = Number(/(\d+) ops\/s/.exec(g.stdout + g.stderr)?.[1] ?? 0);
  assert.ok(gops > 100, `diodload -g reported ops: ${g.stdout}${g.stderr}`);
  assert.ok(attached.includes('ctl'));
  const end = Date.now() + 3000;
  while (server.connections > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert.is(server.connections, 0, 'diodload closed its connections');
}));

test('our client against the diod server: ls, read, write, mkdir, stat, remove', async () => {
  const dirPath = await mkdtemp(join(tmpdir(), 'cheshire-diod-'));
  await writeFile(join(dirPath, 'a.txt'), 'from disk\n');
  await mkdir(join(dirPath, 'sub'));
  await writeFile(join(dirPath, 'sub', 'b.bin'), BIG);
  const diod = await startDiod(dirPath);
  let cl: Client | undefined;
  try {
    cl = await Client.connect({ port: diod.port, version: '9P2000.L' });
    assert.ok(cl.msize <= 1 << 20);
    await cl.attach({ aname: diod.aname, uname: 'root' });
    const names = (await cl.ls('/')).map((e) => `${e.name}${e.isDir ? '/' : ''}`).sort();
    assert.equal(names, ['a.txt', 'sub/']);
    assert.is((await cl.readFile('a.txt')).toString(), 'from disk\n');
    assert.equal(await cl.readFile('sub/b.bin'), BIG);
    assert.is((await cl.statPath('sub/b.bin')).size, BigInt(BIG.length));
    await cl.writeFile('new.txt', 'written over 9P\n');
    assert.is(await readFile(join(dirPath, 'new.txt'), 'utf8'), 'written over 9P\n');
    await cl.writeFile('a.txt', 'short');
    assert.is(await readFile(join(dirPath, 'a.txt'), 'utf8'), 'short');
    await cl.mkdir('made');
    await cl.writeFile('made/big', BIG);
    assert.equal(await readFile(join(dirPath, 'made', 'big')), BIG);
    await cl.removePath('made/big');
    await cl.removePath('made');
    try {
      await cl.readFile('made/big');
      assert.unreachable('read of a removed file');
    } catch (err) {
      assert.instance(err, RemoteError);
    }
    const all = await Promise.all(Array.from({ length: 20 }, () => cl!.readFile('new.txt')));
    for (const b of all) assert.is(b.toString(), 'written over 9P\n');
    // diod speaks only 9P2000.L: asking for 9P2000 is a clear version error
    try {
      const c9 = await Client.connect({ port: diod.port, version: '9P2000' });
      await c9.close();
      assert.unreachable('diod accepted 9P2000');
    } catch (err) {
      assert.is((err as FsError).code, 'CHS_ERR_9P_VERSION', String(err));
    }
    assert.not.match(diod.log(), /unclunked fid/, 'no fid leaked on the diod side');
  } catch (err) {
    throw new Error(`${(err as Error).message}\ndiod log:\n${diod.log()}`);
  } finally {
    await cl?.close();
    await diod.stop();
    await rm(dirPath, { recursive: true, force: true });
  }
});

test.run();
