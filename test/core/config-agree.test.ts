// A config change is all or nothing: the running config, cheshire.json and the revisions never
// disagree. A cheshire.json that does not parse refuses the change before anything runs; a write
// or record that fails undoes what had been applied (file bytes and running config restored).
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

const web = `
export function start(ctx: any) {
  return { port: ctx.config.port };
}
`;

const A = suite<{ project: Project; th: TestHost }>('config agrees');

A.before.each(async (ctx) => {
  ctx.project = await makeProject({
    modules: { web: { cheshire: { config: { schema: { type: 'object', properties: { port: { type: 'integer' } } }, defaults: { port: 8080 } } }, index: web } },
    role: ['web'],
  });
  ctx.th = await startHost(ctx.project, { watch: false });
});

A.after.each(async (ctx) => {
  await ctx.th.close();
  await ctx.project.cleanup();
});

const port = (th: TestHost) => (th.host.instances.get('web')!.run!.service as { port: number }).port;

A('a change while cheshire.json does not parse is refused before anything runs', async ({ project, th }) => {
  await th.host.control.setConfig('web', { port: 9001 });
  const revsBefore = await th.host.control.revisions('web');
  const broken = (await readFile(project.configFile, 'utf8')).replace(/}\s*$/, ',,');
  await writeFile(project.configFile, broken);
  const restartsBefore = th.host.control.reloads('web').length;
  try {
    await th.host.control.setConfig('web', { port: 9002 });
    assert.unreachable('the change should have been refused');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_CONFIG_PARSE');
    assert.match((err as Error).message, /cannot change web's config/);
    assert.match((err as Error).message, /nothing was applied/);
  }
  assert.is(port(th), 9001, 'the module still runs the old config');
  assert.is(th.host.control.config('web').effective.port, 9001);
  assert.is(th.host.control.reloads('web').length, restartsBefore, 'the instance was not restarted');
  assert.equal(await th.host.control.revisions('web'), revsBefore, 'no revision recorded');
  assert.is(await readFile(project.configFile, 'utf8'), broken, 'the file is left as the user wrote it');
});

A('a revision that cannot be recorded undoes the file write and the restart', async ({ project, th }) => {
  await th.host.control.setConfig('web', { port: 9001 });
  const fileBefore = await readFile(project.configFile, 'utf8');
  // The instance's revision folder replaced by a file: recording the next revision fails.
  const revDir = join(project.dir, '.cheshire', 'revisions', 'web');
  await rm(revDir, { recursive: true, force: true });
  await mkdir(join(project.dir, '.cheshire', 'revisions'), { recursive: true });
  await writeFile(revDir, 'not a folder');
  try {
    await th.host.control.setConfig('web', { port: 9003 });
    assert.unreachable('the change should have failed');
  } catch (err) {
    assert.is((err as { code?: string }).code, 'CHS_ERR_CONFIG_WRITE');
    assert.match((err as Error).message, /web: the change was not applied/);
    assert.match((err as Error).message, /cheshire\.json restored/);
    assert.match((err as Error).message, /running config restored/);
  }
  assert.is(port(th), 9001, 'the module runs the old config again');
  assert.is(th.host.control.config('web').effective.port, 9001);
  assert.equal(th.host.control.config('web').override, { port: 9001 });
  assert.is(await readFile(project.configFile, 'utf8'), fileBefore, 'cheshire.json holds its old bytes');
});

A('a refused hand edit put back to the very bytes the node wrote clears the refusal', async ({ project }) => {
  const th = await startHost(project, { watch: true });
  try {
    await th.host.control.setConfig('web', { port: 9005 });
    const written = await readFile(project.configFile, 'utf8');
    await writeFile(project.configFile, written.replace('"port": 9005', '"port": "not a number"'));
    await waitFor('the hand edit refused', () => th.host.control.status().configError);
    assert.is(port(th), 9005, 'the running config is kept');
    await writeFile(project.configFile, written);
    await waitFor('the refusal cleared', () => th.host.control.status().configError === null);
  } finally {
    await th.close();
  }
});

A.run();
