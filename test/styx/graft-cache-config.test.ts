// The graft cache is configurable where users make grafts: styx-client's `cache` (every /net
// graft) and styx-provider's `cache` (a `proxy` export). A file changed directly on the remote
// is seen through a graft with `attrMs: 0` at once, while a graft with the default (1000 ms)
// still answers what it fetched a moment before — so the setting demonstrably reaches the graft.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';

let tmp: string;
let remote: StyxNode | undefined;
let client: StyxNode | undefined;
let provider: StyxNode | undefined;

test.before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'chs-graft-cache-'));
  await writeFile(join(tmp, 'f'), 'one');
  remote = await startStyxNode({ copy: ['styx-provider'], role: ['styx-provider#data'], config: { 'styx-provider#data': { root: tmp } } });
  const address = `127.0.0.1:${remote.port}`;
  client = await startStyxNode({
    copy: ['styx-client'],
    role: ['styx-client'],
    config: {
      'styx-client': {
        imports: [{ name: 'data', address, aname: '/export/data' }],
        cache: { attrMs: 0 },
      },
    },
  });
  provider = await startStyxNode({
    copy: ['styx-provider'],
    role: ['styx-provider#fresh', 'styx-provider#cached'],
    config: {
      'styx-provider#fresh': { server: 'proxy', address, aname: '/export/data', cache: { attrMs: 0 } },
      'styx-provider#cached': { server: 'proxy', address, aname: '/export/data', cache: { attrMs: 60_000 } },
    },
  });
});

test.after(async () => {
  await provider?.close();
  await client?.close();
  await remote?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('a change on the remote is seen at once with attrMs 0, and not with a long attrMs', async () => {
  const c = await client!.connect('9P2000.L');
  const p = await provider!.connect('9P2000.L');
  assert.is((await c.statPath('/net/data/f')).size, 3n);
  assert.is((await p.statPath('/export/fresh/f')).size, 3n);
  assert.is((await p.statPath('/export/cached/f')).size, 3n);
  await writeFile(join(tmp, 'f'), 'one two three');
  assert.is((await c.statPath('/net/data/f')).size, 13n, 'styx-client with cache.attrMs 0 asks the remote');
  assert.is((await p.statPath('/export/fresh/f')).size, 13n, 'styx-provider proxy with cache.attrMs 0 asks the remote');
  assert.is((await p.statPath('/export/cached/f')).size, 3n, 'styx-provider proxy with cache.attrMs 60000 answers from its cache');
});

test('a configured import may be any 9P server: its lookups are not pipelined unless cache.pipeline says so', async () => {
  const c = await client!.connect('9P2000.L');
  await c.statPath('/net/data/f');
  const imports = (client!.th.host.instances.get('styx-client')!.run!.service as { imports(): Array<{ name: string; pipeline: boolean }> }).imports();
  assert.equal(imports.map((i) => [i.name, i.pipeline]), [['data', false]]);
  assert.equal(client!.th.host.control.validateConfig('styx-client', { cache: { pipeline: true } }), []);
  assert.ok(client!.th.host.control.validateConfig('styx-client', { cache: { pipeline: 'yes' } }).some((m) => /cache\/pipeline/.test(m)));
});

test('a cache setting outside the schema is refused, naming it', async () => {
  const control = client!.th.host.control;
  assert.equal(control.validateConfig('styx-client', { cache: { attrMs: 500, fids: 64 } }), []);
  const bad = control.validateConfig('styx-client', { cache: { attrMs: -1 } });
  assert.is(bad.length, 1, bad.join('; '));
  assert.match(bad[0]!, /cache\/attrMs/);
  const alsoBad = provider!.th.host.control.validateConfig('styx-provider#fresh', { server: 'proxy', address: '127.0.0.1:1', cache: { fids: 0 } });
  assert.ok(alsoBad.some((m) => /cache\/fids/.test(m)), alsoBad.join('; '));
});

test.run();
