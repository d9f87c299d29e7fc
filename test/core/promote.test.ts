// Beside, then promote: `enable w#beta --from DIR` runs a copy from another folder next to the
// live `w` (which does not restart); saving the copy reloads only it; `promote w#beta` makes w run
// the copy's code (its files land in w's folder, recorded in history as 'promote') and removes
// the copy; a copy that fails as w leaves w serving its own code with its files back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const mod = (word: string, extra = '') => `export function start(ctx: any) {
  ${extra}
  return { word: () => '${word}' };
}
`;

let project: Project;
let th: TestHost;
let outside: string;

test.before(async () => {
  project = await makeProject({ modules: { w: { cheshire: { provides: ['word'] }, index: mod('one') } }, role: ['w'] });
  th = await startHost(project);
  outside = await mkdtemp(join(tmpdir(), 'chs-beta-'));
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
  if (outside) await rm(outside, { recursive: true, force: true });
});

const word = (id: string) => (th.host.instances.get(id)!.run!.service as { word(): string }).word();
const config = async () => JSON.parse(await readFile(project.configFile, 'utf8')) as { modules: Record<string, unknown>; sources?: Record<string, string> };

async function copyOfW(name: string, source: string): Promise<string> {
  const dir = join(outside, name);
  await cp(project.modulePath('w', ''), dir, { recursive: true });
  await writeFile(join(dir, 'index.ts'), source);
  return dir;
}

test('enable --from runs a copy beside the live one; a save reloads only the copy; promote makes it the live code', async () => {
  const beta = await copyOfW('beta', mod('beta'));
  const liveRun = th.host.instances.get('w')!.run;
  await th.host.enable('w#beta', undefined, beta);
  assert.is(word('w#beta'), 'beta');
  assert.is(word('w'), 'one');
  assert.is(th.host.instances.get('w')!.run, liveRun, 'the live instance did not restart');
  assert.is((await config()).sources?.['w#beta'], beta);

  await writeFile(join(beta, 'index.ts'), mod('beta2'));
  await waitFor('the copy to reload', () => th.host.instances.get('w#beta')?.run && word('w#beta') === 'beta2');
  assert.is(th.host.instances.get('w')!.run, liveRun, 'a save in the copy left the live instance alone');

  const entry = await th.host.promote('w#beta');
  assert.is(entry.source, 'promote');
  assert.is(word('w'), 'beta2');
  assert.is(await readFile(project.modulePath('w'), 'utf8'), mod('beta2'), "the copy's files are w's files now");
  assert.not.ok(th.host.instances.get('w#beta'));
  const c = await config();
  assert.not.ok('w#beta' in c.modules);
  assert.not.ok(c.sources && 'w#beta' in c.sources);
});

test('a copy that fails as w: promote refused, w keeps serving its code and its files', async () => {
  const gamma = await copyOfW('gamma', mod('gamma', "if (ctx.id === 'w') throw new Error('only works as a copy');"));
  await th.host.enable('w#gamma', undefined, gamma);
  assert.is(word('w#gamma'), 'gamma');
  const before = await readFile(project.modulePath('w'), 'utf8');
  try {
    await th.host.promote('w#gamma');
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_PROMOTE');
    assert.match((err as Error).message, /only works as a copy/);
  }
  await waitFor('w serving its own code', () => th.host.instances.get('w')?.run && th.host.instances.get('w')!.state === 'active' && word('w') === 'beta2');
  assert.is(await readFile(project.modulePath('w'), 'utf8'), before);
  assert.is(word('w#gamma'), 'gamma');
});

test('promote of the main instance itself, or of a copy of the same folder, is refused', async () => {
  await th.host.enable('w#same');
  for (const id of ['w', 'w#same']) {
    try {
      await th.host.promote(id);
      assert.unreachable(id);
    } catch (err) {
      assert.match((err as { code?: string }).code ?? '', /CHS_ERR_(INSTANCE_NOT_FOUND|PROMOTE)/);
    }
  }
});

test.run();
