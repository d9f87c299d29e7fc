// A module's `typecheck` policy on reload: `warn` reloads at once and logs the type errors of
// the running version afterwards (file:line:column); `refuse` keeps the old version serving
// when the new one has type errors; a clean version reloads under either.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const source = (type: string, value: string) => `import type { ModuleContext } from 'cheshire/sdk';

const WORD: ${type} = ${value};

export function start(ctx: ModuleContext) {
  ctx.log.info('started');
  return { word: () => String(WORD) };
}
`;

let project: Project;
let th: TestHost;

test.before(async () => {
  project = await makeProject({
    modules: {
      lax: { cheshire: { provides: ['lax'], typecheck: 'warn' }, index: source('string', "'one'") },
      strict: { cheshire: { provides: ['strict'], typecheck: 'refuse' }, index: source('string', "'one'") },
    },
    role: ['lax', 'strict'],
    config: { typecheck: { enabled: true } },
  });
  th = await startHost(project);
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const word = (id: string) => (th.host.instances.get(id)!.run!.service as { word(): string }).word();

test('warn: a version with a type error reloads at once, then its errors are logged as warnings with file:line:column', async () => {
  await project.write('modules/lax/index.ts', source('number', "'two'"));
  await waitFor('lax to serve the new version', () => th.host.instances.get('lax')?.run && word('lax') === 'two');
  const warning = await waitFor('the type-check warning', () => th.logs.find((r) => r.module === 'lax' && r.level === 40 && /typecheck/.test(r.msg)), 30_000);
  assert.match(warning!.msg, new RegExp(`${project.modulePath('lax').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:7 TS2322`));
});

test('refuse: a version with a type error is refused and the old one keeps serving; a clean one reloads', async () => {
  await project.write('modules/strict/index.ts', source('number', "'two'"));
  const inst = th.host.instances.get('strict')!;
  const err = await waitFor('the refusal', () => (inst.lastError?.code === 'CHS_ERR_MODULE_TYPECHECK' ? inst.lastError : null), 30_000);
  assert.match(err!.message, /index\.ts:3:7 TS2322/);
  assert.is(word('strict'), 'one');
  assert.is(inst.state, 'active');
  await project.write('modules/strict/index.ts', source('string', "'three'"));
  await waitFor('strict to serve the clean version', () => inst.run && word('strict') === 'three', 30_000);
});

test.run();
