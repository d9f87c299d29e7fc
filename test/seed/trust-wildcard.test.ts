// The seed's trust list has no wildcard (decided with the DHT's, docs/dht.md "Trust policy"):
// open admission is what join tokens are for. `trust: ["*"]` is refused by the seed's config
// schema, naming the module and the key, and the node boots in failsafe showing why; were a "*"
// to reach makeTrust anyway, it would trust no one (fail closed), never everyone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { identityFromKey } from '../../core/identity.ts';
import { makeTrust } from '../../modules/seed/trust.ts';
import type { Intro } from '../../modules/seed/protocol.ts';
import { makeProject, startHost, type Project, type TestHost } from '../helpers/project.ts';

let project: Project;
let th: TestHost;

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

test('a seed configured with trust ["*"] is refused: failsafe with CHS_ERR_CONFIG_INVALID naming seed and /trust/0', async () => {
  project = await makeProject({ modules: {}, copy: ['seed'], role: ['seed'], config: { modules: { seed: { host: '127.0.0.1', port: 0, trust: ['*'] } } } });
  th = await startHost(project, { watch: false });
  assert.ok(th.host.failsafe, 'the node is in failsafe');
  assert.is(th.host.failsafe!.code, 'CHS_ERR_CONFIG_INVALID');
  assert.match(th.host.failsafe!.message, /seed: \/trust\/0 must match pattern "\^\[0-9a-fA-F\]\{64\}\$" \(got "\*"\)/);
  assert.is(th.host.instances.get('seed'), undefined, 'no seed runs');
});

test('makeTrust treats "*" as no key at all: a stranger is refused, with the reason', () => {
  const stranger = identityFromKey(generateKeyPairSync('ed25519').privateKey).publicKey;
  const trusted = makeTrust({ trust: ['*'], joinTokens: [] }, null);
  const intro = { node: 'n1', publicKey: stranger } as Intro;
  assert.match(trusted(intro) ?? 'trusted', /node "n1" has key [0-9a-f]{64} which the seed does not trust/);
});

test.run();
