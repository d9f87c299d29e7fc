// Health and metrics through the node's tree: /modules/M/health is the latest result as JSON,
// /modules/M/status and /status show it, and the 9P server's request and error counters
// (cheshire_9p_requests_total / cheshire_9p_errors_total, by message type) move when a client
// reads, in both dialects; they keep counting across a reload of styx-root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteError } from '../../fs/errors.ts';
import { waitFor } from '../helpers/project.ts';
import { parseExposition, sampleValue } from '../helpers/prom-text.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

const HC = `
const g = globalThis as any;
g.__hm ??= { ok: true };
export function start() { return {}; }
export function health() { if (!g.__hm.ok) throw new Error('disk full'); return { ok: true, free: 12 }; }
`;

let node: StyxNode;

test.before(async () => {
  node = await startStyxNode({ modules: { hc: { cheshire: { health: { intervalMs: 20, timeoutMs: 500 } }, index: HC } }, role: ['hc'] });
});

test.after(async () => {
  await node?.close();
});

const hm = () => (globalThis as { __hm?: { ok: boolean } }).__hm!;
const metric = async (name: string, labels: Record<string, string>) => sampleValue(parseExposition((await node.th.host.control.metrics()).text), name, labels) ?? 0;

test('/modules/M/health is the latest result as JSON; status shows a failing check', async () => {
  const c = await node.connect('9P2000.L');
  const ok = await waitFor('a checked result', async () => {
    const r = JSON.parse(await text(c, '/modules/hc/health')) as { ok: boolean; detail?: { free?: number } };
    return r.detail?.free === 12 ? r : false;
  });
  assert.is(ok.ok, true);
  assert.match(await text(c, '/modules/hc/status'), /^health: ok at \S+ \(\S+ ms\)$/m);
  const plain = JSON.parse(await text(c, '/modules/styx-root/health')) as { ok: boolean; detail: unknown };
  assert.equal([plain.ok, plain.detail], [true, { state: 'active' }], 'no export: its state');
  hm().ok = false;
  const bad = await waitFor('the failure in the tree', async () => {
    const r = JSON.parse(await text(c, '/modules/hc/health')) as { ok: boolean; error?: string };
    return r.ok ? false : r;
  });
  assert.match(bad.error!, /CHS_ERR_HEALTH_FAILED: hc: health\(ctx\) threw: disk full/);
  assert.match(await text(c, '/status'), /^hc active .* health FAIL CHS_ERR_HEALTH_FAILED: hc: health\(ctx\) threw: disk full$/m);
  assert.match(await text(c, '/modules/hc/status'), /^health: FAIL at .* CHS_ERR_HEALTH_FAILED/m);
  hm().ok = true;
  await waitFor('the recovery in the tree', async () => (JSON.parse(await text(c, '/modules/hc/health')) as { ok: boolean }).ok);
  assert.not.match(await text(c, '/status'), /health FAIL/);
});

for (const dialect of ['9P2000.L', '9P2000.u'] as const) {
  test(`${dialect}: 9P request and error counters move when a client reads`, async () => {
    const labels = (type: string) => ({ module: 'styx-root', type });
    const walks = await metric('cheshire_9p_requests_total', labels('Twalk'));
    const walkErrors = await metric('cheshire_9p_errors_total', labels('Twalk'));
    const reads = await metric('cheshire_9p_requests_total', labels('Tread'));
    const c = await node.connect(dialect);
    await text(c, '/status');
    await c.readFile('/nope').then(() => assert.unreachable('/nope exists'), (err: unknown) => assert.instance(err, RemoteError));
    assert.ok(await metric('cheshire_9p_requests_total', labels('Twalk')) >= walks + 2, 'walks counted');
    assert.ok(await metric('cheshire_9p_requests_total', labels('Tread')) > reads, 'reads counted');
    assert.is(await metric('cheshire_9p_errors_total', labels('Twalk')), walkErrors + 1, 'the failed walk counted as an error');
    assert.ok(await metric('cheshire_9p_connections', { module: 'styx-root' }) >= 1);
  });
}

test('the counters keep counting across a reload of styx-root', async () => {
  const before = await metric('cheshire_9p_requests_total', { module: 'styx-root', type: 'Tversion' });
  assert.ok(before >= 2);
  await node.th.host.control.reload('styx-root');
  assert.ok(await metric('cheshire_9p_requests_total', { module: 'styx-root', type: 'Tversion' }) >= before);
  const c = await node.connect('9P2000.L');
  await text(c, '/status');
  assert.ok(await metric('cheshire_9p_requests_total', { module: 'styx-root', type: 'Tversion' }) >= before + 1);
});

test.run();
