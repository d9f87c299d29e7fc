// A module folder outside the repo, with dependencies of its own in its own node_modules (an
// ESM package with `exports`, a CJS package, and a `semver` that shadows the host's): it runs
// under a real host, resolves its own packages first, gets the host's single cheshire/sdk, hot-
// reloads on save, passes its own tests (which import cheshire/sdk), and an unresolvable import
// is refused naming the specifier and the file while the old version keeps serving.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import semver from 'semver';
import { serveHttp } from '../../core/sdk/index.ts';
import { readDescriptor } from '../../core/descriptor.ts';
import { runModuleTests } from '../../core/module-tests.ts';
import { makeProject, REPO, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const index = (word: string, extra = '') => `import { serveHttp } from 'cheshire/sdk';
import type { ModuleContext } from 'cheshire/sdk';
import named, { shape } from 'esm-dep';
import cjs from 'cjs-dep';
import semver from 'semver';
${extra}
export function start(_ctx: ModuleContext) {
  return { serveHttp, esm: shape(), esmDefault: named(), cjs: cjs.kind, semver: (semver as { marker?: string }).marker, word: '${word}' };
}
`;

const files: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'outer', version: '1.0.0', type: 'module', cheshire: { test: { files: ['test/*.test.ts'] } } }),
  'index.ts': index('one'),
  // ESM-only by its conditions, with a default and a named export: the "import" branch must win, as Node's import would pick it.
  'node_modules/esm-dep/package.json': JSON.stringify({ name: 'esm-dep', version: '1.0.0', type: 'module', exports: { '.': { import: './esm.js', require: './wrong.cjs' } } }),
  'node_modules/esm-dep/esm.js': `export function shape() { return 'esm-dep:import'; }\nexport default () => 'esm-dep:default';\n`,
  'node_modules/esm-dep/wrong.cjs': `exports.shape = () => 'esm-dep:require (wrong branch)';\n`,
  'node_modules/cjs-dep/package.json': JSON.stringify({ name: 'cjs-dep', version: '1.0.0', main: 'main.js' }),
  'node_modules/cjs-dep/main.js': `module.exports = { kind: 'cjs-dep' };\n`,
  // Shadows the host's semver (which the host itself uses): the module must get this one.
  'node_modules/semver/package.json': JSON.stringify({ name: 'semver', version: '99.0.0', main: 'index.js' }),
  'node_modules/semver/index.js': `module.exports = { marker: 'module-own-semver' };\n`,
  'test/sdk.test.ts': `import assert from 'node:assert';
import { serveHttp } from 'cheshire/sdk';
assert.equal(typeof serveHttp, 'function');
assert.equal(import.meta.resolve('cheshire/sdk'), ${JSON.stringify(pathToFileURL(join(REPO, 'core/sdk/index.ts')).href)});
console.log('sdk resolved to the host copy');
`,
};

interface Ctx { outside: string; dir: string; project: Project; th: TestHost }
const Imports = suite<Ctx>('loader imports');

Imports.before.each(async (ctx) => {
  ctx.outside = await realpath(await mkdtemp(join(tmpdir(), 'chs-outside-')));
  ctx.dir = join(ctx.outside, 'outer');
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(ctx.dir, rel)), { recursive: true });
    await writeFile(join(ctx.dir, rel), content);
  }
  ctx.project = await makeProject({ modules: {}, role: ['outer'], config: { moduleDirs: ['modules', ctx.outside] } });
  ctx.th = await startHost(ctx.project);
});

Imports.after.each(async (ctx) => {
  try {
    await ctx.th?.close();
  } finally {
    await ctx.project?.cleanup();
    await rm(ctx.outside, { recursive: true, force: true });
  }
});

type Service = { serveHttp: unknown; esm: string; esmDefault: string; cjs: string; semver?: string; word: string };
const service = (th: TestHost) => th.host.instances.get('outer')?.run?.service as Service | undefined;

Imports('an outside module resolves its own ESM (exports) and CJS packages, and its semver over the host\'s', async ({ th }) => {
  const inst = th.host.instances.get('outer')!;
  assert.is(inst.state, 'active', inst.lastError?.stack);
  const s = service(th)!;
  assert.is(s.esm, 'esm-dep:import');
  assert.is(s.esmDefault, 'esm-dep:default');
  assert.is(s.cjs, 'cjs-dep');
  assert.is(s.semver, 'module-own-semver');
  assert.type(semver.valid, 'function', 'the host keeps its own semver');
});

Imports('cheshire/sdk in an outside module is the host\'s own copy', async ({ th }) => {
  assert.ok(service(th)!.serveHttp === serveHttp, 'serveHttp is the very function the host loaded');
});

Imports('saving a file of the outside module hot-reloads it', async ({ dir, th }) => {
  await writeFile(join(dir, 'index.ts'), index('two'));
  await waitFor('the outside module to serve "two"', () => service(th)?.word === 'two');
  assert.is(th.host.instances.get('outer')!.reloads, 1);
  assert.is(service(th)!.semver, 'module-own-semver');
});

Imports('the outside module\'s own tests import cheshire/sdk and pass', async ({ dir }) => {
  const result = await runModuleTests(readDescriptor(dir), 30_000);
  assert.ok(result.ok, result.output);
  assert.equal(result.files, ['test/sdk.test.ts']);
  assert.match(result.output, 'sdk resolved to the host copy');
});

Imports('an unresolvable import is refused naming module, specifier and file; the old version keeps serving', async ({ dir, th }) => {
  await writeFile(join(dir, 'index.ts'), index('broken', `import missing from 'no-such-package-chs';\nvoid missing;`));
  const inst = th.host.instances.get('outer')!;
  await waitFor('the refused reload', () => inst.lastError?.code === 'CHS_ERR_MODULE_LOAD');
  const msg = inst.lastError!.message;
  assert.match(msg, /^CHS_ERR_MODULE_LOAD: outer: /);
  assert.match(msg, '"no-such-package-chs"');
  assert.match(msg, `${join(dir, 'index.ts')}:6:21: `);
  assert.is(inst.state, 'active');
  assert.is(service(th)!.word, 'one');
});

Imports('an import of the host\'s own files by path is refused, pointing at cheshire/sdk', async ({ dir, th }) => {
  const hostFile = join(REPO, 'fs/tree/synthetic.ts');
  await writeFile(join(dir, 'index.ts'), index('by-path', `import { dir as d } from '${hostFile}';\nvoid d;`));
  const inst = th.host.instances.get('outer')!;
  await waitFor('the refused reload', () => inst.lastError?.code === 'CHS_ERR_MODULE_LOAD');
  assert.match(inst.lastError!.message, `imports the host's own file ${hostFile} by path; import it from "cheshire/sdk" instead`);
  assert.is(inst.state, 'active');
  assert.is(service(th)!.word, 'one');
});

Imports.run();
