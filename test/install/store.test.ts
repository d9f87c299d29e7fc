// The module store: the same NAME@VERSION twice is refused (force replaces it), two versions sit
// side by side (and discovery sees both), uninstall refuses while the node uses a version and
// removes otherwise; the progress printer (terminal and plain) and installCommand's output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { discoverModules, pickModule } from '../../core/discover.ts';
import { installCommand } from '../../core/install/command.ts';
import { installModule } from '../../core/install/install.ts';
import { progressPrinter } from '../../core/install/progress.ts';
import { INSTALL_RECORD, listInstalled } from '../../core/install/store.ts';
import { uninstallModule } from '../../core/install/uninstall.ts';
import { assertStore, base, fixture, moduleTarball, rejectsWith, type Fixture } from './helpers.ts';

let f: Fixture;

test.before(async () => {
  f = await fixture();
});

test.after(async () => {
  await f?.cleanup();
});

test('the same NAME@VERSION twice is refused and the first is kept; force replaces it', async () => {
  const tgz = await moduleTarball(f.root, 'twice', '1.0.0');
  const first = await installModule(tgz, base(f));
  const marker = join(first.dir, 'index.ts');
  await writeFile(marker, '// edited in place\n');
  const e = await rejectsWith(installModule(tgz, base(f)), 'CHS_ERR_INSTALL_EXISTS', 'second install');
  assert.match(e.message, 'twice@1.0.0');
  assert.is(await readFile(marker, 'utf8'), '// edited in place\n', 'the installed one is untouched');
  await assertStore(f.store, ['twice@1.0.0'], 'after the refusal');
  const forced = await installModule(tgz, { ...base(f), force: true });
  assert.is(forced.dir, first.dir);
  assert.match(await readFile(marker, 'utf8'), 'serveHttp', 'force put the package back');
  assert.ok(existsSync(join(forced.dir, 'node_modules/dep/index.js')));
  await assertStore(f.store, ['twice@1.0.0'], 'after force');
});

test('two versions of one module sit side by side; discovery finds both', async () => {
  const v1 = await installModule(await moduleTarball(f.root, 'sbs', '1.0.0'), base(f));
  const v2 = await installModule(await moduleTarball(f.root, 'sbs', '2.1.0'), base(f));
  assert.is.not(v1.dir, v2.dir);
  const mine = (await listInstalled(f.store)).filter((m) => m.name === 'sbs');
  assert.equal(mine.map((m) => m.version), ['1.0.0', '2.1.0']);
  const found = discoverModules([f.store]);
  assert.equal(found.invalid, []);
  assert.is(pickModule(found.modules, 'sbs', '^1').dir, v1.dir);
  assert.is(pickModule(found.modules, 'sbs').dir, v2.dir, 'the highest by default');
});

test('uninstall refuses while a version is in use and removes it otherwise', async () => {
  const installed = (await listInstalled(f.store)).filter((m) => m.name === 'sbs');
  const v1 = installed.find((m) => m.version === '1.0.0')!;
  const e = await rejectsWith(uninstallModule(f.store, 'sbs', '1.0.0', (dir) => dir === v1.dir), 'CHS_ERR_INSTALL_IN_USE', 'in use');
  assert.match(e.message, 'sbs@1.0.0');
  assert.ok(existsSync(join(v1.dir, INSTALL_RECORD)), 'still there');
  // without a version: every version, and none if one is in use
  await rejectsWith(uninstallModule(f.store, 'sbs', undefined, (dir) => dir === v1.dir), 'CHS_ERR_INSTALL_IN_USE', 'all, one in use');
  assert.is((await listInstalled(f.store)).filter((m) => m.name === 'sbs').length, 2, 'nothing removed');
  const removed = await uninstallModule(f.store, 'sbs', '1.0.0', () => false);
  assert.equal(removed.map((m) => m.version), ['1.0.0']);
  assert.not.ok(existsSync(v1.dir));
  await rejectsWith(uninstallModule(f.store, 'sbs', '1.0.0', () => false), 'CHS_ERR_MODULE_NOT_FOUND', 'gone already');
  await uninstallModule(f.store, 'sbs', undefined, () => false);
  await assertStore(f.store, ['twice@1.0.0'], 'after uninstalling every sbs');
});

/** A writable that records what is written, as a terminal or not. */
function sink(tty: boolean): PassThrough & { isTTY?: boolean; columns?: number; text(): string } {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; text(): string };
  let out = '';
  s.on('data', (d) => { out += d; });
  if (tty) { s.isTTY = true; s.columns = 80; }
  s.text = () => out;
  return s;
}

test('progressPrinter: a redrawn line with a bar on a terminal, plain lines otherwise', async () => {
  const tty = sink(true);
  const p = progressPrinter(tty);
  p({ phase: 'fetch', done: 0, total: 1000 });
  p({ phase: 'fetch', done: 500, total: 1000 }); // within the redraw interval: skipped
  await new Promise((r) => setTimeout(r, 100));
  p({ phase: 'fetch', done: 1000, total: 1000 });
  p({ phase: 'deps' });
  p.end();
  const t = tty.text();
  assert.match(t, '\r\x1b[Kfetch    [------------------------] 0 B / 1000 B');
  assert.match(t, '\r\x1b[Kfetch    [########################] 1000 B / 1000 B');
  assert.not.match(t, '500 B');
  assert.match(t, '\r\x1b[Kdeps');
  assert.not.match(t, '\n', 'one line, redrawn');
  const plain = sink(false);
  const q = progressPrinter(plain);
  for (const ph of ['resolve', 'fetch']) q({ phase: ph });
  q({ phase: 'fetch', done: 2048 });
  q({ phase: 'extract' });
  q({ phase: 'done' });
  q.end();
  assert.is(plain.text(), 'resolve\nfetch\nfetch 2.0 KiB\nextract\n');
});

test('installCommand: progress and errors on err, the result on out, exit codes', async () => {
  const tgz = await moduleTarball(f.root, 'by-command', '1.0.0');
  const out = sink(false);
  const err = sink(false);
  const code = await installCommand([tgz], { ...base(f), out, err });
  assert.is(code, 0, err.text());
  assert.match(out.text(), `installed by-command@1.0.0 in ${join(f.store, 'by-command@1.0.0')}\n`);
  assert.match(out.text(), /pin with .*by-command-1\.0\.0\.tgz#sha256=[0-9a-f]{64}\n/);
  assert.match(err.text(), /^resolve\nfetch\nfetch \d+ B \/ \d+ B\nextract\nverify\ndeps\nstore\n$/);
  const err2 = sink(false);
  assert.is(await installCommand([tgz], { ...base(f), out: sink(false), err: err2 }), 1);
  assert.match(err2.text(), 'CHS_ERR_INSTALL_EXISTS');
  assert.is(await installCommand([tgz, '--force'], { ...base(f), out: sink(false), err: sink(false) }), 0);
  assert.is(await installCommand([], { ...base(f), out: sink(false), err: sink(false) }), 2);
  assert.is(await installCommand([tgz, '--bogus'], { ...base(f), out: sink(false), err: sink(false) }), 2);
});

test.run();
