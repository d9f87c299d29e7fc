// The config editor in chromium: a value the schema refuses shows the schema's error inline and
// nothing is applied (the node's config and revisions stay as they were); a valid one applies,
// restarts the instance with it and appears in the revisions with its diff; revert restores the
// earlier config as a new revision.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { launch, request, shot, startDashNode, synced, waitFor, type DashNode, type Pages } from './helpers.ts';

const speaker = {
  cheshire: {
    config: {
      schema: {
        type: 'object', additionalProperties: false,
        properties: { greeting: { type: 'string' }, times: { type: 'integer', minimum: 1 } },
      },
      defaults: { greeting: 'Hello', times: 1 },
    },
  },
  index: `export function start(ctx: any) { return { greeting: ctx.config.greeting }; }\n`,
};

const C = suite('dashboard config editor');
let node: DashNode;
let pages: Pages;
let page: Page;

C.before(async () => {
  node = await startDashNode({ modules: { speaker }, role: ['speaker'] });
  pages = await launch();
  page = await pages.open(`${node.url}#i=speaker`);
  await synced(page);
  await page.click('[data-testid=panel] [data-tab=config]');
  await page.waitForSelector('[data-testid=config-editor]');
});

C.after(async () => {
  await pages?.close();
  await node?.close();
});

const control = () => node.th.host.control;
const effective = () => control().config('speaker').effective;
const service = () => node.th.host.instances.get('speaker')?.run?.service as { greeting: string } | undefined;

C('a value the schema refuses shows its error inline, and nothing is applied', async () => {
  const revs = (await control().revisions('speaker')).length;
  await page.fill('[data-testid=config-editor]', '{ "greeting": 7 }');
  await page.waitForSelector('[data-testid=config-errors][data-valid=no] .err-text');
  const errors = await page.textContent('[data-testid=config-errors]');
  assert.match(errors ?? '', 'greeting', `the error names the key: ${errors}`);
  assert.match(errors ?? '', /string/, 'and what was expected');
  assert.ok(await page.isDisabled('[data-testid=config-apply]'), 'Apply is disabled');
  await page.fill('[data-testid=config-editor]', '{ "greeting": ');
  await waitFor('the JSON error', async () => /not JSON/.test((await page.textContent('[data-testid=config-errors]')) ?? ''), 5_000, 20);
  assert.ok(await page.isDisabled('[data-testid=config-apply]'));
  await shot(page, 'config-invalid');
  assert.is(effective().greeting, 'Hello');
  assert.is(service()?.greeting, 'Hello');
  assert.is((await control().revisions('speaker')).length, revs, 'no revision was recorded');
});

C('the API refuses an invalid config too (422, the errors), and changes nothing', async () => {
  const revs = (await control().revisions('speaker')).length;
  const r = await request(`${node.url}api/instances/speaker/config`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-cheshire-dashboard': '1' }, body: JSON.stringify({ override: { times: 0 } }),
  });
  assert.is(r.status, 422);
  assert.match(JSON.parse(r.body).errors.join('\n'), 'times');
  assert.is(effective().times, 1);
  assert.is((await control().revisions('speaker')).length, revs);
});

C('a valid value applies, restarts the instance with it, and appears in the revisions with its diff', async () => {
  await page.fill('[data-testid=config-editor]', '{ "greeting": "Bonjour" }');
  await page.waitForSelector('[data-testid=config-errors][data-valid=yes]');
  await page.click('[data-testid=config-apply]');
  await waitFor('the status to say it applied', async () => /applied as revision \d+/.test((await page.textContent('[data-testid=config-status]')) ?? ''), 10_000, 20);
  const rev = Number(/revision (\d+)/.exec((await page.textContent('[data-testid=config-status]'))!)![1]);
  assert.is(effective().greeting, 'Bonjour');
  await waitFor('speaker to run with the new greeting', () => service()?.greeting === 'Bonjour', 5_000);
  const revs = await control().revisions('speaker');
  assert.is(revs.at(-1)!.rev, rev);
  await page.click('[data-testid=panel] [data-tab=revisions]');
  const li = page.locator(`[data-testid=revisions] li[data-rev="${rev}"]`);
  await li.waitFor();
  const text = await li.textContent();
  assert.match(text ?? '', '/greeting');
  assert.match(text ?? '', 'Bonjour');
  await shot(page, 'config-revisions');
});

C('revert restores the earlier config as a new revision', async () => {
  const revs = await control().revisions('speaker');
  const previous = revs.at(-2)!;
  assert.is(previous.config.greeting, 'Hello');
  await page.locator(`[data-testid=revisions] li[data-rev="${previous.rev}"] [data-testid=revert]`).click();
  await waitFor('the revert to be applied', async () => /reverted/.test((await page.textContent('[data-testid=revisions-status]')) ?? ''), 10_000, 20);
  assert.is(effective().greeting, 'Hello');
  await waitFor('speaker to run with the old greeting', () => service()?.greeting === 'Hello', 5_000);
  const after = await control().revisions('speaker');
  assert.is(after.length, revs.length + 1);
  assert.is(after.at(-1)!.source, 'revert');
  await page.locator(`[data-testid=revisions] li[data-rev="${after.at(-1)!.rev}"]`).waitFor();
  assert.equal(pages.errors.filter((e) => !/status of 4\d\d/.test(e)), []);
});

C.run();
