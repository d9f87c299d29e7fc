import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheshireError } from '../core/errors.ts';
import { isTempFileOf, jsonErrorOffset, readJsonFile, writeFileAtomic } from '../core/config/atomic.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'chs-atomic-'));
  dirs.push(d);
  return d;
}

test.after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Reject with a message naming what was awaited if `p` does not settle within `ms`. */
async function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tempsIn = async (dir: string, base: string) => (await readdir(dir)).filter((n) => isTempFileOf(base, n));

/** ~200 KB of valid, pretty-printed JSON; `tag` makes the two contents differ everywhere. */
function bigJson(tag: string): string {
  const items = Array.from({ length: 2000 }, (_, i) => ({ i, tag, text: `${tag}-${i}-`.padEnd(60, tag[0]) }));
  return JSON.stringify({ tag, items }, null, 2) + '\n';
}

test('writes and overwrites strings and bytes; no temp file left', async () => {
  const dir = await tempDir();
  const file = join(dir, 'conf.json');
  await writeFileAtomic(file, '{"a":1}');
  assert.is(await readFile(file, 'utf8'), '{"a":1}');
  await writeFileAtomic(file, new TextEncoder().encode('{"a":2}'));
  assert.is(await readFile(file, 'utf8'), '{"a":2}');
  assert.equal(await readdir(dir), ['conf.json']);
});

test('mode of an existing target is preserved; opts.mode wins; new file gets exact opts.mode', async () => {
  if (process.platform === 'win32') return;
  const dir = await tempDir();
  const file = join(dir, 'secret.json');
  await writeFile(file, '{}');
  await chmod(file, 0o640);
  await writeFileAtomic(file, '{"x":1}');
  assert.is((await stat(file)).mode & 0o777, 0o640, 'existing mode kept');
  await writeFileAtomic(file, '{"x":2}', { mode: 0o600 });
  assert.is((await stat(file)).mode & 0o777, 0o600, 'explicit mode applied');
  const fresh = join(dir, 'fresh.json');
  await writeFileAtomic(fresh, '{}', { mode: 0o604 }); // not reachable through a 022 umask alone
  assert.is((await stat(fresh)).mode & 0o777, 0o604, 'explicit mode on a new file, umask bypassed');
});

test('a symlinked target stays a symlink and its destination is replaced', async () => {
  if (process.platform === 'win32') return;
  const dir = await tempDir();
  const real = join(dir, 'real.json');
  const link = join(dir, 'link.json');
  await writeFile(real, '{"v":1}');
  await symlink(real, link);
  await writeFileAtomic(link, '{"v":2}');
  assert.is(await readFile(real, 'utf8'), '{"v":2}');
  assert.ok((await import('node:fs')).lstatSync(link).isSymbolicLink());
});

test('error path: rename fails, temp file removed, error rethrown', async () => {
  const dir = await tempDir();
  const target = join(dir, 'occupied');
  await mkdir(target);
  await writeFile(join(target, 'inside'), 'x'); // a non-empty directory cannot be renamed over
  let caught: unknown;
  try {
    await writeFileAtomic(target, '{"a":1}');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error, 'writeFileAtomic rejected');
  assert.ok(['EISDIR', 'ENOTEMPTY', 'EEXIST', 'EPERM'].includes((caught as NodeJS.ErrnoException).code ?? ''),
    `unexpected error: ${String(caught)}`);
  assert.equal(await readdir(dir), ['occupied'], 'no temp file left behind');
  assert.equal(await readdir(target), ['inside']);
});

test('error path: missing directory rejects with ENOENT and creates nothing', async () => {
  const dir = await tempDir();
  try {
    await writeFileAtomic(join(dir, 'nope', 'x.json'), '{}');
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, 'ENOENT');
  }
  assert.equal(await readdir(dir), []);
});

test('readJsonFile parses valid JSON (and a leading BOM)', async () => {
  const dir = await tempDir();
  const file = join(dir, 'ok.json');
  await writeFile(file, '\uFEFF{"port": 8080, "tags": ["a"]}\n');
  assert.equal(await readJsonFile(file), { port: 8080, tags: ['a'] });
});

test('readJsonFile error names the file, line, column and offset', async () => {
  const dir = await tempDir();
  const file = join(dir, 'bad.json');
  await writeFile(file, '{\n  "port": 8080,\n  "host": }\n');
  try {
    await readJsonFile(file);
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.instance(err, CheshireError);
    const e = err as CheshireError;
    assert.is(e.code, 'CHS_ERR_CONFIG_PARSE');
    assert.ok(e.message.startsWith(`CHS_ERR_CONFIG_PARSE: ${file}: invalid JSON at line 3 column 11 (offset 28)`), e.message);
    assert.ok(e.cause instanceof SyntaxError);
  }
  // Empty file and trailing comma
  await writeFile(file, '');
  try { await readJsonFile(file); assert.unreachable(); } catch (err) {
    assert.match((err as Error).message, /bad\.json: invalid JSON at line 1 column 1 \(offset 0\): Unexpected end/);
  }
  await writeFile(file, '{"a": 1,\n}');
  try { await readJsonFile(file); assert.unreachable(); } catch (err) {
    assert.match((err as Error).message, /invalid JSON at line 2 column 1 \(offset 9\)/);
  }
});

test('readJsonFile passes a missing file through as ENOENT', async () => {
  const dir = await tempDir();
  try {
    await readJsonFile(join(dir, 'missing.json'));
    assert.unreachable('should have thrown');
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, 'ENOENT');
  }
});

test('jsonErrorOffset agrees with JSON.parse on validity', () => {
  const cases: Array<[string, number]> = [
    ['{"a":[1,2,{"b":null}],"c":"\\u00e9\\n","d":-0.5e+3,"e":true}', -1],
    ['  [ ]  ', -1],
    ['"x"', -1],
    ['{"a":}', 5],
    ['{"a":1', 6],
    ['[1,]', 3],
    ['01', 1],
    ['1.', 2],
    ['"a\nb"', 2],
    ['"\\x"', 2],
    ['tru', 3],
    ['{"a":1} x', 8],
    ["{'a':1}", 1],
  ];
  for (const [text, want] of cases) {
    let valid = true;
    try { JSON.parse(text); } catch { valid = false; }
    assert.is(jsonErrorOffset(text), want, `offset for ${JSON.stringify(text)}`);
    assert.is(want === -1, valid, `validity for ${JSON.stringify(text)}`);
  }
});

test('atomic write survives kill -9', async () => {
  const dir = await tempDir();
  const file = join(dir, 'state.json');
  const a = bigJson('alpha');
  const b = bigJson('bravo');
  assert.ok(a.length > 150_000 && b.length > 150_000 && a !== b, `content sizes ${a.length}, ${b.length}`);
  await writeFileAtomic(file, a);

  const ITERATIONS = 25;
  const seen = { a: 0, b: 0 };
  let child: ChildProcess | undefined;
  try {
    for (let iter = 0; iter < ITERATIONS; iter++) {
      const c = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/atomic-writer.ts', file], {
        cwd: root,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child = c;
      let stderr = '';
      c.stderr!.on('data', (d) => { stderr += d; });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
        c.once('exit', (code, signal) => res({ code, signal })));
      const ready = new Promise<void>((res, rej) => {
        let out = '';
        c.stdout!.on('data', (d) => { out += d; if (out.includes('writing\n')) res(); });
        c.once('error', rej);
        void exited.then(({ code, signal }) =>
          rej(new Error(`writer exited early (${code ?? signal}) in iteration ${iter}: ${stderr}`)));
      });
      ready.catch(() => {}); // awaited below; this only stops a late rejection from going unhandled
      c.stdin!.end(JSON.stringify({ a, b }));

      await deadline(ready, 20_000, `iteration ${iter}: the writer child to report "writing"`);
      await sleep(5 + Math.floor(Math.random() * 56));
      c.kill('SIGKILL');
      const how = await deadline(exited, 10_000, `iteration ${iter}: the writer child to exit after SIGKILL`);
      assert.is(how.signal, 'SIGKILL', `iteration ${iter}: child ended by SIGKILL, not ${how.code}: ${stderr}`);
      child = undefined;

      const text = await readFile(file, 'utf8');
      assert.not.throws(() => JSON.parse(text), `iteration ${iter}: file is valid JSON`);
      assert.ok(text === a || text === b, `iteration ${iter}: file equals one of the two contents (length ${text.length})`);
      if (text === a) seen.a++; else seen.b++;

      // At most the one temp file that was in flight when the child died.
      const temps = await tempsIn(dir, 'state.json');
      assert.ok(temps.length <= 1, `iteration ${iter}: leftover temp files ${temps.join(', ')}`);
      for (const t of temps) await unlink(join(dir, t));
      assert.equal(await readdir(dir), ['state.json'], `iteration ${iter}: only the target remains`);
    }
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  assert.is(seen.a + seen.b, ITERATIONS);
});

test.run();
