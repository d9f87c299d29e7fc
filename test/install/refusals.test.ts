// What installModule refuses, and that a refused, failed or cancelled install leaves nothing in
// the store: a wrong #sha256= or #sha512- pin, a package without a `cheshire` descriptor (refused
// before npm runs: a tracer npm proves it), npm failing, a download cut midway (with and without
// a Content-Length), an abort signal mid-download and before the start, and a stale work folder
// of a killed install, which the next install sweeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { installModule } from '../../core/install/install.ts';
import {
  assertStore, base, fixture, moduleFolder, moduleTarball, rejectsWith, serve, sha256, writeFiles, type Fixture, type Served,
} from './helpers.ts';

let f: Fixture;
let tgz: string;
let bytes: Buffer;
const servers: Served[] = [];

test.before(async () => {
  f = await fixture();
  tgz = await moduleTarball(f.root, 'refused', '1.0.0');
  bytes = await readFile(tgz);
});

test.after(async () => {
  for (const s of servers.splice(0)) await s.close();
  await f?.cleanup();
});

const keep = (s: Served) => { servers.push(s); return s; };

/**
 * A tracer npm for one test: `npm_execpath` pointing at a script that records its run and fails,
 * so the test can prove whether npm ran at all.
 */
async function withTracerNpm<T>(body: (marker: string) => Promise<T>): Promise<T> {
  const dir = join(f.root, 'tracer');
  const marker = join(dir, 'npm-ran');
  await writeFiles(dir, { 'npm-cli.js': `require('node:fs').writeFileSync(${JSON.stringify(marker)}, process.argv.slice(2).join(' ')); process.exit(1);\n` });
  const saved = process.env.npm_execpath;
  process.env.npm_execpath = join(dir, 'npm-cli.js');
  try {
    return await body(marker);
  } finally {
    if (saved === undefined) delete process.env.npm_execpath;
    else process.env.npm_execpath = saved;
  }
}

test('a wrong #sha256= pin is refused, nothing kept (tarball and folder)', async () => {
  const wrong = '0'.repeat(64);
  const e = await rejectsWith(installModule(`${tgz}#sha256=${wrong}`, base(f)), 'CHS_ERR_INSTALL_INTEGRITY', 'tarball pin');
  assert.match(e.message, `sha256=${sha256(bytes)}`, 'the message gives the real hash');
  await assertStore(f.store, [], 'after a wrong tarball pin');
  const folder = join(f.root, 'src', 'refused-1.0.0');
  await rejectsWith(installModule(`${folder}#sha256=${wrong}`, base(f)), 'CHS_ERR_INSTALL_INTEGRITY', 'folder pin');
  await assertStore(f.store, [], 'after a wrong folder pin');
  const sri = `sha512-${Buffer.alloc(64).toString('base64')}`;
  await rejectsWith(installModule(`${tgz}#${sri}`, base(f)), 'CHS_ERR_INSTALL_INTEGRITY', 'npm integrity pin');
  await assertStore(f.store, [], 'after a wrong sha512 pin');
});

test('a package without a cheshire descriptor is refused before npm runs, naming it', async () => {
  // a dependency npm could never install: had npm run, the install would fail otherwise
  const dir = await moduleFolder(f.root, 'not-a-module', '1.0.0', { cheshire: undefined, dependencies: { dep: 'file:./nowhere/missing.tgz' } });
  const packed = await moduleTarball(f.root, 'not-a-module', '1.0.0', { cheshire: undefined, dependencies: { dep: 'file:./nowhere/missing.tgz' } });
  const bad = await moduleTarball(f.root, 'bad-field', '1.0.0', { cheshire: { entry: 7 } });
  await withTracerNpm(async (marker) => {
    const e = await rejectsWith(installModule(dir, base(f)), 'CHS_ERR_DESCRIPTOR_INVALID', 'folder without a descriptor');
    assert.match(e.message, 'not-a-module@1.0.0');
    assert.match(e.message, 'no "cheshire" descriptor field');
    const e2 = await rejectsWith(installModule(packed, base(f)), 'CHS_ERR_DESCRIPTOR_INVALID', 'tarball without a descriptor');
    assert.not.match(e2.message, '.tmp-', 'the message names the package, not a work folder');
    await rejectsWith(installModule(bad, base(f)), 'CHS_ERR_DESCRIPTOR_INVALID', 'a malformed descriptor');
    assert.not.ok(existsSync(marker), 'npm never ran');
  });
  await assertStore(f.store, [], 'after descriptor refusals');
});

test('npm failing to install the dependencies is refused with its output, nothing kept', async () => {
  const t = await moduleTarball(f.root, 'bad-deps', '1.0.0', { dependencies: { dep: 'file:./nowhere/missing.tgz' } });
  const e = await rejectsWith(installModule(t, base(f)), 'CHS_ERR_INSTALL_DEPS', 'npm failure');
  assert.match(e.message, 'npm install');
  await assertStore(f.store, [], 'after npm failed');
  // the tracer shows the flags npm is run with
  await withTracerNpm(async (marker) => {
    await rejectsWith(installModule(tgz, base(f)), 'CHS_ERR_INSTALL_DEPS', 'tracer npm');
    assert.match(await readFile(marker, 'utf8'), /^install --omit=dev --ignore-scripts --no-audit --no-fund /);
  });
  await assertStore(f.store, [], 'after the tracer');
});

/** Sends half the tarball, then destroys the socket. */
const cutServer = (withLength: boolean) => serve((_req, res, socket) => {
  res.writeHead(200, withLength ? { 'content-length': bytes.length } : {});
  res.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => socket.destroy(), 20));
});

test('a download cut midway is refused, nothing kept (with and without Content-Length)', async () => {
  for (const withLength of [true, false]) {
    const s = keep(await cutServer(withLength));
    const e = await rejectsWith(installModule(`${s.url}/refused-1.0.0.tgz`, base(f)), 'CHS_ERR_INSTALL_FETCH', `cut download (content-length ${withLength})`);
    assert.match(e.message, 'the download was cut off');
    assert.ok(s.seen.length >= 1, 'the server was asked');
    await assertStore(f.store, [], `after a cut download (content-length ${withLength})`);
  }
});

test('an abort signal mid-download cancels the install, nothing kept', async () => {
  // half the bytes, then the server stalls: only the abort can end the install
  const s = keep(await serve((_req, res) => {
    res.writeHead(200, { 'content-length': bytes.length });
    res.write(bytes.subarray(0, bytes.length >> 1));
  }));
  const ac = new AbortController();
  const started = Date.now();
  let sawBytes = 0;
  const p = installModule(`${s.url}/x.tgz`, {
    ...base(f), signal: ac.signal,
    onProgress: (pr) => { if (pr.phase === 'fetch' && pr.done) { sawBytes = pr.done; ac.abort(); } },
  });
  await rejectsWith(p, 'CHS_ERR_INSTALL_ABORTED', 'aborted download');
  assert.ok(sawBytes > 0, 'bytes had arrived');
  assert.ok(Date.now() - started < 5000, 'the abort ended it promptly');
  await assertStore(f.store, [], 'after the abort');
  await rejectsWith(installModule(tgz, { ...base(f), signal: AbortSignal.abort() }), 'CHS_ERR_INSTALL_ABORTED', 'already aborted');
  await assertStore(f.store, [], 'after an already aborted signal');
});

test('an abort while npm installs the dependencies kills it, nothing kept', async () => {
  const ac = new AbortController();
  const p = installModule(tgz, { ...base(f), signal: ac.signal, onProgress: (pr) => { if (pr.phase === 'deps') setTimeout(() => ac.abort(), 50); } });
  await rejectsWith(p, 'CHS_ERR_INSTALL_ABORTED', 'aborted npm');
  await assertStore(f.store, [], 'after aborting npm');
});

test('the work folder of a killed install is swept by the next install', async () => {
  const stale = join(f.store, '.tmp-999999999-dead');
  await mkdir(join(stale, 'package'), { recursive: true });
  await writeFile(join(stale, 'package', 'half'), 'x');
  const r = await installModule(tgz, base(f));
  await assertStore(f.store, ['refused@1.0.0'], 'the install landed and the stale work folder is gone');
  assert.is(r.version, '1.0.0');
});

test.run();
