// Stack traces of module code point at the module's own files (file:line:column, original
// function names) in lastError, in the log and through moduleStack(), which also drops the
// host's frames; load errors name file:line:column on their first line; and a reload releases
// the old version's source map.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import v8 from 'node:v8';
import vm from 'node:vm';
import { join } from 'node:path';
import { bundleModule, evaluateBundle, moduleStack } from '../../core/loader.ts';
import { liveBundleCount } from '../../core/loader/stacks.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

// util.ts comes first in the bundle, so esbuild renames index.ts's `later` to `later2`.
const UTIL = `export function helper() {\n  return later();\n}\nfunction later() {\n  return 1;\n}\n`;
const OK = `import { helper } from './util.ts';\nexport function start() {\n  return { value: helper() };\n}\n`;

const THROW_IN_START = `import { helper } from './util.ts';
export function start() {
  helper();
  throw new Error('boom in start');
}
`;

const THROW_LATER = `import { helper } from './util.ts';
export function start() {
  helper();
  setTimeout(() => {
    later();
  }, 5);
  return {};
}
function later() {
  throw new Error('boom later');
}
`;

interface Ctx { project: Project; th: TestHost; dir: string }
const Stacks = suite<Ctx>('loader stacks');

Stacks.before.each(async (ctx) => {
  ctx.project = await makeProject({ modules: { t: { index: OK, files: { 'util.ts': UTIL } } }, role: ['t'] });
  ctx.th = await startHost(ctx.project, { watch: false });
  ctx.dir = ctx.th.host.instances.get('t')!.desc.dir;
});

Stacks.after.each(async (ctx) => {
  try {
    await ctx.th?.close();
  } finally {
    await ctx.project?.cleanup();
  }
});

const inst = (th: TestHost) => th.host.instances.get('t')!;
const hostFrame = /^\s*at .*(\/base\/|\/core\/|\/fs\/|node:internal|node_modules\/tsx)/m;

Stacks('a throw in start: lastError, the log and moduleStack name index.ts:LINE:COL; host frames dropped by default', async ({ project, th, dir }) => {
  await project.write('modules/t/index.ts', THROW_IN_START);
  const failures = await th.host.reloadDir(dir);
  const err = failures.get('t');
  assert.ok(err, 'the reload failed');
  const at = `${join(dir, 'index.ts')}:4:9`;
  assert.match(inst(th).lastError!.stack, `start (${at})`);
  const logged = th.logs.find((r) => r.err?.stack?.includes(at));
  assert.ok(logged, 'the logged record carries the mapped frame');
  const short = moduleStack(err);
  assert.match(short, /^\w*Error: CHS_ERR_MODULE_START: t: start threw at \S+\/index\.ts:\d+:\d+: boom in start\n/);
  assert.match(short, `Caused by: Error: boom in start\n    at Object.start (${at})`);
  assert.not.match(short, hostFrame);
  assert.match(moduleStack(err, { full: true }), hostFrame);
  assert.is(inst(th).state, 'active', 'the old version serves again');
});

Stacks('a throw in a later callback names the line and the original function name', async ({ project, th, dir }) => {
  await project.write('modules/t/index.ts', THROW_LATER);
  await th.host.reloadDir(dir);
  await waitFor('the timer\'s crash', () => inst(th).lastError?.stack.includes('boom later'));
  const stack = inst(th).lastError!.stack;
  const file = join(dir, 'index.ts');
  assert.match(stack, `at later (${file}:10:9)`);
  assert.match(stack, `${file}:5:5`);
  assert.not.match(stack, 'later2');
  assert.not.match(stack, '#');
});

Stacks('a syntax error names file:line:column', async ({ project, th, dir }) => {
  await project.write('modules/t/index.ts', 'export function start() {\n  return 1 +;\n}\n');
  await th.host.reloadDir(dir);
  const e = inst(th).lastError!;
  assert.is(e.code, 'CHS_ERR_MODULE_LOAD');
  assert.match(e.message.split('\n')[0]!, `t: ${join(dir, 'index.ts')}:2:13: Unexpected ";"`);
});

Stacks('a throw while evaluating names file:line:column on the first line', async ({ project, th, dir }) => {
  await project.write('modules/t/util.ts', `${UTIL}const limit = 3;\nif (limit > 2) throw new RangeError('limit too high');\n`);
  await th.host.reloadDir(dir);
  const e = inst(th).lastError!;
  assert.is(e.code, 'CHS_ERR_MODULE_LOAD');
  assert.match(e.message.split('\n')[0]!, `t: evaluating ${join(dir, 'util.ts')}:8:22 threw: limit too high`);
  assert.is(inst(th).state, 'active');
});

Stacks('moduleStack maps a stack that was formatted past the hook', async ({ project, dir }) => {
  await project.write('modules/t/other.ts', `export function fail() {\n  throw new Error('plain');\n}\n`);
  const unit = { name: 't', dir, entry: 'other.ts' };
  const exports = evaluateBundle(unit, await bundleModule(unit));
  const saved = Error.prepareStackTrace;
  let err: Error | undefined;
  try {
    Error.prepareStackTrace = (e, sites) => `${e}${sites.map((s) => `\n    at ${s}`).join('')}`;
    (exports.fail as () => void)();
  } catch (e) {
    err = e as Error;
    void err.stack;
  } finally {
    Error.prepareStackTrace = saved;
  }
  assert.match(err!.stack!, `${join(dir, 'other.ts')}#`, 'formatted unmapped, under the bundle\'s name');
  assert.match(moduleStack(err), `fail (${join(dir, 'other.ts')}:2:9)`);
});

Stacks('reloads release the old versions\' source maps', async ({ project, th, dir }) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 8; i++) {
    // Each version formats a stack in start, so its map is parsed, not only registered.
    await project.write('modules/t/index.ts', `${OK}export const probe = new Error('v${i}').stack;\n`);
    await th.host.reloadDir(dir);
    assert.is(inst(th).lastError, null);
  }
  await waitFor('old maps to be collected', async () => {
    gc();
    await new Promise((r) => setTimeout(r, 10));
    return liveBundleCount() <= 2;
  }, 5_000, 20);
});

Stacks.run();
