// The DHT's figures in the node's metrics: routing table size, KRPC queries sent and received by
// query, operations by outcome; per instance (`module` label, dht and mainline-dht sharing the
// families), moving when one node bootstraps from the other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DhtService } from '../../modules/dht/types.ts';
import { makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { parseExposition, sampleSum, sampleValue } from '../helpers/prom-text.ts';

let project: Project;
let th: TestHost;

test.before(async () => {
  project = await makeProject({
    modules: {},
    copy: ['dht', 'mainline-dht'],
    role: ['dht', 'mainline-dht'],
    config: { modules: { dht: { port: 0 }, 'mainline-dht': { port: 0 } } },
  });
  th = await startHost(project, { watch: false });
});

test.after(async () => {
  await th?.close();
  await project?.cleanup();
});

const svc = (id: string) => th.host.instances.get(id)!.run!.service as DhtService;
const scrape = async () => parseExposition((await th.host.control.metrics()).text);

test('dht metrics per instance move when mainline-dht bootstraps from dht', async () => {
  let f = await scrape();
  assert.is(sampleValue(f, 'cheshire_dht_nodes', { module: 'dht' }), 0);
  assert.is(sampleValue(f, 'cheshire_dht_operations_total', { module: 'mainline-dht', op: 'bootstrap', outcome: 'ok' }), 0);
  const a = svc('dht').address();
  await svc('mainline-dht').bootstrap([`${a.host}:${a.port}`]);
  f = await waitFor('the bootstrap in the metrics', async () => {
    const s = await scrape();
    return (sampleValue(s, 'cheshire_dht_nodes', { module: 'mainline-dht' }) ?? 0) >= 1 ? s : false;
  });
  assert.is(sampleValue(f, 'cheshire_dht_operations_total', { module: 'mainline-dht', op: 'bootstrap', outcome: 'ok' }), 1);
  assert.ok(sampleSum(f, 'cheshire_dht_queries_sent_total', { module: 'mainline-dht' }) >= 1, 'mainline-dht sent queries');
  assert.ok(sampleSum(f, 'cheshire_dht_queries_received_total', { module: 'dht' }) >= 1, 'dht received them');
  assert.ok(f.get('cheshire_dht_queries_received_total')!.samples.every((s) => ['ping', 'find_node', 'get_peers', 'announce_peer', 'get', 'put', 'other'].includes(s.labels.query!)));
  assert.is(sampleValue(f, 'cheshire_dht_dropped_datagrams_total', { module: 'dht' }), 0);
});

test.run();
