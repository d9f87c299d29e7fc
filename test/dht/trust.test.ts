// trust: ["*"], decided (docs/dht.md, "Trust policy"): the DHT modules support it on purpose (any
// valid signature is used: for a DHT nobody else can reach) and refuse it, with CHS_ERR_DHT_TRUST,
// on a node that joins the public DHT (allowPublic) — at start and as a runtime config change,
// which leaves the running instance serving. A bad entry is refused naming it. (What "*" does to
// findExports, and that it never admits a forged description, is in refusals.test.ts; the seed's
// trust list, which has no wildcard, in test/seed/trust-wildcard.test.ts.)
import { assertLoopbackOnly } from './net-guard.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTrust } from '../../modules/dht/trust.ts';
import type { DhtService } from '../../modules/dht/types.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { newIdentity } from './dht-host.ts';

const key = newIdentity().publicKey;
let project: Project;
let th: TestHost;

test.before(async () => {
  const quiet = { port: 0, bootstrap: [], queryTimeoutMs: 500, opTimeoutMs: 3000 };
  project = await makeProject({
    modules: {},
    copy: ['dht', 'mainline-dht'],
    role: ['dht', 'mainline-dht', 'mainline-dht#open'],
    config: {
      modules: {
        dht: { ...quiet, trust: ['*'] },
        'mainline-dht': { ...quiet, allowPublic: true, trust: ['*'] },
        'mainline-dht#open': { ...quiet, allowPublic: true, trust: [key.toUpperCase()] },
      },
    },
  });
  th = await startHost(project, { watch: false });
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

test('parseTrust: keys (lower-cased) and "*" on a private DHT; "*" on the public DHT and bad entries refused, named', () => {
  assert.equal(parseTrust('dht', ['*', key.toUpperCase()], { publicDht: false }), ['*', key]);
  assert.equal(parseTrust('mainline-dht', [key], { publicDht: true }), [key]);
  assert.throws(() => parseTrust('mainline-dht', ['*'], { publicDht: true }), /^CHS_ERR_DHT_TRUST: mainline-dht: trust \["\*"\] would accept any stranger's export descriptions on the public DHT \(allowPublic is on\)/);
  assert.throws(() => parseTrust('dht', ['abc'], { publicDht: false }), /^CHS_ERR_DHT_TRUST: dht: trust entry "abc" is neither "\*" nor a 64-hex-digit public key$/);
  assert.throws(() => parseTrust('dht', ['**'], { publicDht: false }), /trust entry "\*\*"/);
});

test('dht with trust ["*"] runs; mainline-dht with allowPublic and ["*"] is refused with CHS_ERR_DHT_TRUST; with a listed key it runs', async () => {
  assert.is(th.host.instances.get('dht')?.state, 'active', th.host.instances.get('dht')?.lastError?.message);
  assert.is(th.host.instances.get('mainline-dht#open')?.state, 'active', th.host.instances.get('mainline-dht#open')?.lastError?.message);
  const refused = await waitFor('mainline-dht to be given up on', () => {
    const i = th.host.instances.get('mainline-dht');
    return i?.state === 'failed' ? i : false;
  }, 10_000);
  assert.match(refused.lastError?.message ?? '', /CHS_ERR_DHT_TRUST: mainline-dht: trust \["\*"\] would accept any stranger's export descriptions on the public DHT/);
  assert.not.ok(refused.run?.service, 'it never served');
});

test('a runtime change to trust ["*"] on the public node is refused; the instance serves on with its config and node', async () => {
  const id = 'mainline-dht#open';
  const inst = th.host.instances.get(id)!;
  const port = (inst.run!.service as DhtService).address().port;
  let error: unknown;
  try {
    await th.host.control.setConfig(id, { port: 0, bootstrap: [], allowPublic: true, trust: ['*'] });
  } catch (err) {
    error = err;
  }
  assert.match(String((error as Error | undefined)?.message), /^CHS_ERR_DHT_TRUST: mainline-dht#open: trust \["\*"\]/, 'setConfig rejects naming the instance');
  assert.is(inst.state, 'active');
  assert.is((inst.run!.service as DhtService).address().port, port, 'the same DHT node (taken over), not a new one');
  assert.equal(th.host.control.config(id).override.trust, [key.toUpperCase()], 'the config was not changed');
});

test('no datagram left loopback', () => {
  assertLoopbackOnly();
});

test.run();
