// Dependencies: static cascades in order, dynamic handles rebind without restarting the
// dependent, optional providers bind late, missing ones leave the dependent waiting, cycles are
// refused with the path spelled out, and two versions of a module run side by side.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { events, makeProject, recorder, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';

async function withHost(p: Project, body: (th: TestHost) => Promise<void>): Promise<void> {
  const th = await startHost(p);
  try {
    await body(th);
  } finally {
    await th.close();
    await p.cleanup();
  }
}

const req = (service: string, policy: string, cardinality = '1', range = '*') => ({ service, policy, cardinality, range });

test('static: a provider reload stops dependents in reverse order and restarts them in order', async () => {
  events().length = 0;
  const p = await makeProject({
    modules: {
      a: { cheshire: { provides: ['a'] }, index: recorder('a') },
      b: { cheshire: { provides: ['b'], requires: [req('a', 'static')] }, index: recorder('b') },
      c: { cheshire: { requires: [req('b', 'static')] }, index: recorder('c') },
      other: { index: recorder('other') },
    },
    role: ['c', 'b', 'a', 'other'],
  });
  await withHost(p, async (th) => {
    assert.equal(events(), ['start a', 'start b', 'start c', 'start other']);
    const otherRun = th.host.instances.get('other')!.run;
    events().length = 0;
    await p.write('modules/a/index.ts', recorder('a', '/* v2 */ const v2 = 1; void v2;'));
    await waitFor('c to be active again after the cascade', () => events().includes('start c'));
    assert.equal(events(), ['stop c', 'stop b', 'stop a', 'start a', 'start b', 'start c']);
    assert.ok(th.host.instances.get('other')!.run === otherRun, 'an unrelated module keeps its incarnation');
    const b = th.host.instances.get('b')!.run!.service as { deps: { a: { name: string } } };
    assert.is(b.deps.a.name, 'a', 'b holds the new a directly');
  });
});

test('dynamic: the handle reaches the new provider; the dependent is not restarted and is told', async () => {
  const provider = (word: string) => `export function start() { return { word: () => '${word}' }; }`;
  const p = await makeProject({
    modules: {
      prov: { cheshire: { provides: ['words'] }, index: provider('old') },
      user: {
        cheshire: { requires: [req('words', 'dynamic')] },
        index: `
export function start(ctx: any) {
  const seen: string[] = [];
  ctx.onUnbind('words', () => seen.push('unbind'));
  ctx.onBind('words', () => seen.push('bind'));
  return { call: () => ctx.deps.words.word(), seen };
}`,
      },
    },
    role: ['user', 'prov'],
  });
  await withHost(p, async (th) => {
    const run = th.host.instances.get('user')!.run!;
    const svc = run.service as { call(): string | Promise<string>; seen: string[] };
    assert.is(await svc.call(), 'old');
    await p.write('modules/prov/index.ts', provider('new'));
    await waitFor('the handle to reach the new provider', async () => (await svc.call()) === 'new');
    assert.ok(th.host.instances.get('user')!.run === run, 'user was not restarted');
    assert.equal(svc.seen, ['unbind', 'bind']);
  });
});

test('dynamic: a call while the provider is away waits for it, or fails with CHS_ERR_DEP_UNAVAILABLE', async () => {
  const p = await makeProject({
    modules: {
      prov: { cheshire: { provides: ['words'] }, index: `export function start() { return { word: () => 'w' }; }` },
      user: { cheshire: { requires: [req('words', 'dynamic')] }, index: `export function start(ctx: any) { return { call: () => ctx.deps.words.word() }; }` },
    },
    role: ['user', 'prov'],
    config: { dependencies: { waitMs: 300 } },
  });
  await withHost(p, async (th) => {
    const svc = th.host.instances.get('user')!.run!.service as { call(): Promise<string> | string };
    await th.host.stopInstance('prov');
    assert.is(th.host.instances.get('user')!.state, 'active', 'a dynamic dependent keeps running');
    const waiting = Promise.resolve(svc.call());
    await th.host.startInstance('prov');
    assert.is(await waiting, 'w', 'the waiting call completes once the provider is back');
    await th.host.stopInstance('prov');
    try {
      await svc.call();
      assert.unreachable('call should fail');
    } catch (err) {
      assert.is((err as { code?: string }).code, 'CHS_ERR_DEP_UNAVAILABLE');
      assert.match((err as Error).message, /user: no provider of "words@\*" became available within 300 ms/);
    }
  });
});

test('optional dynamic dependency: a provider that appears later binds without a restart', async () => {
  const p = await makeProject({
    modules: {
      late: { cheshire: { provides: ['extra'] }, index: `export function start() { return { hi: () => 'hi' }; }` },
      user: {
        cheshire: { requires: [req('extra', 'dynamic', '0..1')] },
        index: `export function start(ctx: any) { return { has: () => ctx.deps.extra.$available, hi: () => ctx.deps.extra.hi() }; }`,
      },
    },
    role: ['user', 'late'],
  });
  await withHost(p, async (th) => {
    await th.host.stopInstance('late');
    const run = th.host.instances.get('user')!.run!;
    const svc = run.service as { has(): boolean; hi(): string };
    assert.is(svc.has(), false);
    await th.host.startInstance('late');
    assert.is(svc.has(), true);
    assert.is(svc.hi(), 'hi');
    assert.ok(th.host.instances.get('user')!.run === run, 'user was not restarted');
  });
});

test('a missing mandatory dependency leaves the dependent waiting, naming what it waits for', async () => {
  const p = await makeProject({
    modules: { lonely: { cheshire: { requires: [req('nobody', 'static', '1', '^2')] }, index: recorder('lonely') } },
    role: ['lonely'],
  });
  await withHost(p, async (th) => {
    const st = th.host.status().instances.find((i) => i.id === 'lonely')!;
    assert.is(st.state, 'waiting');
    assert.equal(st.waitingFor, ['nobody@^2']);
  });
});

test('a stopped static provider stops its dependent (waiting), which restarts when it returns', async () => {
  const p = await makeProject({
    modules: {
      a: { cheshire: { provides: ['a'] }, index: recorder('a') },
      b: { cheshire: { requires: [req('a', 'static')] }, index: recorder('b') },
    },
    role: ['a', 'b'],
  });
  await withHost(p, async (th) => {
    await th.host.stopInstance('a');
    assert.is(th.host.instances.get('b')!.state, 'waiting');
    assert.equal(th.host.instances.get('b')!.waitingFor, ['a@*']);
    await th.host.startInstance('a');
    assert.is(th.host.instances.get('b')!.state, 'active');
  });
});

test('a reload that would create a cycle is refused with the cycle spelled out; the old version keeps running', async () => {
  const p = await makeProject({
    modules: {
      a: { cheshire: { provides: ['a'] }, index: recorder('a') },
      b: { cheshire: { provides: ['b'], requires: [req('a', 'static')] }, index: recorder('b') },
    },
    role: ['a', 'b'],
  });
  await withHost(p, async (th) => {
    const pkg = { name: 'a', version: '1.0.0', type: 'module', cheshire: { provides: ['a'], requires: [req('b', 'static')] } };
    await p.write('modules/a/package.json', JSON.stringify(pkg));
    await waitFor('the refused reload', () => th.host.instances.get('a')!.lastError);
    const err = th.host.instances.get('a')!.lastError!;
    assert.is(err.code, 'CHS_ERR_DEP_CYCLE');
    assert.match(err.message, /dependency cycle: (a -> b -> a|b -> a -> b)/);
    assert.is(th.host.instances.get('a')!.state, 'active');
    assert.is(th.host.instances.get('b')!.state, 'active');
  });
});

test('two versions of one module side by side when dependents require different ranges', async () => {
  const lib = (v: string) => `export function start(ctx: any) { return { version: () => '${v}:' + ctx.version }; }`;
  const user = `export function start(ctx: any) { return { libVersion: () => ctx.deps.lib.version() }; }`;
  const p = await makeProject({
    modules: {
      old: { cheshire: { requires: [req('lib', 'static', '1', '^1')] }, index: user },
      new: { cheshire: { requires: [req('lib', 'static', '1', '^2')] }, index: user },
    },
    role: ['old', 'new'],
  });
  // two folders hold the same module name in two major versions
  await p.writeModule('lib', { folder: 'lib-v1', version: '1.4.0', cheshire: { provides: ['lib'] }, index: lib('one') });
  await p.writeModule('lib', { folder: 'lib-v2', version: '2.1.0', cheshire: { provides: ['lib'] }, index: lib('two') });
  await withHost(p, async (th) => {
    // `old` is planned first, so lib 1.4.0 takes the plain id and 2.1.0 gets a versioned one
    assert.equal([...th.host.instances.keys()].sort(), ['lib', 'lib@2.1.0', 'new', 'old']);
    const call = (id: string) => (th.host.instances.get(id)!.run!.service as { libVersion(): string }).libVersion();
    assert.is(call('old'), 'one:1.4.0');
    assert.is(call('new'), 'two:2.1.0');
    const versions = th.host.status().instances.filter((i) => i.module === 'lib').map((i) => i.version).sort();
    assert.equal(versions, ['1.4.0', '2.1.0']);
  });
});

test.run();
