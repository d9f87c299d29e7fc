// `$all` of a dynamic 0..n dependency inside an isolated module (worker and process): the bound
// providers' services as proxies, kept current as providers come and go; onBind/onUnbind hear of
// each one; $ready resolves with the list; a proxy held from before its provider went away fails
// with CHS_ERR_DEP_UNAVAILABLE (read $all again) and never reaches another provider.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { inst, scope, until } from '../helpers/extra.ts';
import type { TestHost } from '../helpers/project.ts';

const S = suite('isolation-all');
const t = scope();
S.after.each(() => t.cleanup());

const NAMER = (n: string) => `export function start() { return { name: () => '${n}' }; }`;
const CONSUMER = `export function start(ctx: any) {
  const events: string[] = [];
  ctx.onBind('namers', async (p: any) => { events.push('bind ' + (p ? await p.name() : '?')); });
  ctx.onUnbind('namers', () => { events.push('unbind'); });
  let held: any[] = [];
  return {
    names: async () => (await Promise.all(ctx.deps.namers.$all.map((n: any) => n.name()))).sort(),
    count: () => ctx.deps.namers.$all.length,
    ready: async () => (await ctx.deps.namers.$ready(2000)).length,
    hold: () => { held = ctx.deps.namers.$all; return held.length; },
    callHeld: () => Promise.all(held.map((n: any) => n.name().then((x: string) => x, (e: any) => e.code))),
    events: () => events,
  };
}`;

type Consumer = { names(): Promise<string[]>; count(): Promise<number>; ready(): Promise<number>; hold(): Promise<number>; callHeld(): Promise<string[]>; events(): Promise<string[]> };
const consumer = (th: TestHost) => inst(th, 'consumer').run!.service as Consumer;

for (const mode of ['worker', 'process'] as const) {
  S(`${mode}: $all lists the bound providers and follows them; held proxies of a provider gone fail typed`, async () => {
    const project = await t.project({
      modules: {
        p1: { cheshire: { provides: ['namer'] }, index: NAMER('p1') },
        p2: { cheshire: { provides: ['namer'] }, index: NAMER('p2') },
        consumer: { cheshire: { isolation: mode, requires: [{ service: 'namer', as: 'namers', policy: 'dynamic', cardinality: '0..n' }] }, index: CONSUMER },
      },
      role: ['p1', 'p2', 'consumer'],
    });
    const th = await t.host(project, { watch: false });
    const c = () => consumer(th);
    await until('both providers in $all', async () => (await c().count()) === 2, 10_000);
    assert.equal(await c().names(), ['p1', 'p2'], 'calls through $all reach each provider');
    assert.is(await c().ready(), 2, '$ready resolves with the list');
    assert.is(await c().hold(), 2);

    await th.host.stopInstance('p2');
    await until('p2 gone from $all', async () => (await c().count()) === 1, 10_000);
    assert.equal(await c().names(), ['p1']);
    assert.ok((await c().events()).includes('unbind'), `onUnbind heard it: ${JSON.stringify(await c().events())}`);
    assert.equal((await c().callHeld()).sort(), ['CHS_ERR_DEP_UNAVAILABLE', 'p1'], 'the held proxy of p2 fails typed; that of p1 still works');

    await th.host.startInstance('p2');
    await until('p2 back in $all', async () => (await c().count()) === 2, 10_000);
    assert.equal(await c().names(), ['p1', 'p2']);
    await until('onBind heard p2 come back', async () => (await c().events()).includes('bind p2'), 5_000);
    // The held proxy named p2's old service: it does not reach the new incarnation's.
    assert.equal((await c().callHeld()).sort(), ['CHS_ERR_DEP_UNAVAILABLE', 'p1']);
  });
}

S.run();
