// Real 9P2000.L clients (Debian's diod tools) against our server exporting a temp dir: diodls
// lists it (short and long, with real sizes and modes), diodcat reads files bigger than msize, and
// a symlink pointing out of the export is shown but never read through. A missing binary fails
// the test with "install diod" (test/helpers/diod.ts).
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { diodBinary, runTool } from '../../test/helpers/diod.ts';
import { NineServer } from '../server/server.ts';
import { exportTree } from './export.ts';
import type { ExportNode } from './export.ts';

const BIG = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13) % 256));
const t = suite('export: diod tools');
let base = '';
let addr = '';
let server: NineServer | undefined;
let tree: ExportNode | undefined;
const faults: unknown[] = [];

t.before(async () => {
  base = mkdtempSync(join(tmpdir(), 'cheshire-export-diod-'));
  const root = join(base, 'root');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(root, 'hello'), 'hello from disk\n');
  writeFileSync(join(root, 'big'), BIG);
  writeFileSync(join(root, 'sub', 'x'), 'x\n');
  chmodSync(join(root, 'sub', 'x'), 0o640);
  writeFileSync(join(root, 'sub', 'deeper', 'y'), 'y\n');
  writeFileSync(join(base, 'secret'), 'TOP SECRET\n');
  symlinkSync('../secret', join(root, 'out'));
  tree = exportTree(root);
  const served = tree;
  server = new NineServer({ attach: () => served, onError: (e) => faults.push(e) });
  addr = `127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
});
t.after(async () => {
  tree?.dispose();
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

t('diodls lists the export (short and long: real modes and sizes)', async () => {
  const ls = diodBinary('diodls');
  const r = await runTool(ls, ['-s', addr, '-a', '/', '-t', '5', '/'], 8000);
  assert.is(r.code, 0, `diodls failed: ${r.stderr}`);
  assert.equal(r.stdout.trim().split('\n').sort(), ['big', 'hello', 'out', 'sub']);
  const l = await runTool(ls, ['-l', '-s', addr, '-a', '/', '-t', '5', 'sub'], 8000);
  assert.is(l.code, 0, `diodls -l failed: ${l.stderr}`);
  assert.match(l.stdout, /^d.*deeper$/m);
  assert.match(l.stdout, /^-rw-r-----.* 2 .* x$/m);
  const top = await runTool(ls, ['-l', '-s', addr, '-a', '/', '-t', '5', '/'], 8000);
  // diodls prints no "l" type, but the size is the link's own ("../secret"), not its target's
  assert.match(top.stdout, /^\S+\s+1 .*\s9 .* out$/m, `the symlink's own attributes: ${top.stdout}`);
  assert.match(top.stdout, /300000 .* big$/m);
  assert.equal(faults, []);
});

t('diodcat reads files (one bigger than msize); reading through a symlink out of the export fails', async () => {
  const cat = diodBinary('diodcat');
  const r = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'hello', 'sub/deeper/y'], 8000);
  assert.is(r.code, 0, `diodcat failed: ${r.stderr}`);
  assert.is(r.stdout, 'hello from disk\ny\n');
  const big = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'big'], 8000);
  assert.is(big.code, 0, big.stderr);
  assert.ok(big.stdoutBytes.equals(BIG), `diodcat big: ${big.stdoutBytes.length} bytes, expected ${BIG.length} identical`);
  const out = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'out'], 8000);
  assert.ok(out.code !== 0, 'diodcat of a symlink pointing out exits non-zero');
  assert.not.match(out.stdout, /SECRET/);
  const missing = await runTool(cat, ['-s', addr, '-a', '/', '-t', '5', 'nope'], 8000);
  assert.ok(missing.code !== 0, 'diodcat of a missing file exits non-zero');
  assert.equal(faults, []);
});

t.run();
