// The seed: signed introductions from trusted keys only (config list, own key, join token), each
// refusal with its reason; replay and clock-skew checks; the directory in /seed and pushed to
// subscribers; nodes dropped on disconnect and on missed heartbeats; events from /seed/ctl
// (publish build N; reload M on R, carried out by the seed-client of the nodes of that role).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { WebSocket } from 'ws';
import { identityFromKey, type Identity } from '../../core/identity.ts';
import { signIntro, type Directory, type SeedMessage, type SeedEvent } from '../../modules/seed/protocol.ts';
import type { Client } from '../../fs/client/client.ts';
import { freePort } from '../helpers/diod.ts';
import { waitFor } from '../helpers/project.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';

const TOKEN = 'join-token-0123456789abcdef';
const newKey = (): Identity => identityFromKey(generateKeyPairSync('ed25519').privateKey);
const trustedKey = newKey();
let node: StyxNode;
let seedPort: number;
let c: Client;
const sockets: WebSocket[] = [];

const counter = `
export function start(ctx: any) { return { n: 1 }; }
export function health() { return !(globalThis as any).__counterSick; }
`;

test.before(async () => {
  seedPort = await freePort();
  node = await startStyxNode({
    modules: { counter: { index: counter, cheshire: { health: { intervalMs: 50, timeoutMs: 500 } } } },
    copy: ['seed', 'seed-client'],
    role: ['seed', 'seed-client', 'counter'],
    config: {
      seed: { port: seedPort, trust: [trustedKey.publicKey], joinTokens: [TOKEN], heartbeatMs: 100, missedHeartbeats: 3, ackWaitMs: 3000 },
      'seed-client': { seed: `ws://127.0.0.1:${seedPort}`, http: 'http://127.0.0.1:1', routes: [{ host: 'self.test', prefix: '/own' }] },
    },
  });
  c = await node.connect('9P2000.L');
});

test.after(async () => {
  for (const ws of sockets) ws.terminate();
  await node?.close();
});

interface Peer {
  ws: WebSocket;
  messages: SeedMessage[];
  next(t: SeedMessage['t'], ms?: number): Promise<SeedMessage>;
  closed: Promise<{ code: number; reason: string }>;
  send(m: unknown): void;
}

async function peer(): Promise<Peer> {
  const ws = new WebSocket(`ws://127.0.0.1:${seedPort}`);
  sockets.push(ws);
  const messages: SeedMessage[] = [];
  let seen = 0;
  ws.on('message', (d) => messages.push(JSON.parse(String(d)) as SeedMessage));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return {
    ws, messages, closed,
    send: (m) => ws.send(JSON.stringify(m)),
    async next(t, ms = 3000) {
      return waitFor<SeedMessage>(`seed message ${t}`, () => {
        const i = messages.findIndex((m, k) => k >= seen && m.t === t);
        if (i < 0) return undefined as unknown as SeedMessage;
        seen = i + 1;
        return messages[i]!;
      }, ms);
    },
  };
}

const intro = (nonce: string, extra: Record<string, unknown> = {}) => ({
  node: 'peer', role: 'live', modules: ['live-app'], http: 'http://127.0.0.1:9', routes: [{ host: '*', prefix: '/' }], ninep: null, nonce, ...extra,
});

async function join(id: Identity, extra: Record<string, unknown> = {}): Promise<Peer> {
  const p = await peer();
  const ch = await p.next('challenge') as Extract<SeedMessage, { t: 'challenge' }>;
  p.send(signIntro(id, intro(ch.nonce, extra)));
  return p;
}

async function refusal(p: Peer): Promise<Extract<SeedMessage, { t: 'refused' }>> {
  const r = await p.next('refused') as Extract<SeedMessage, { t: 'refused' }>;
  const closed = await p.closed;
  assert.is(closed.code, 4003);
  assert.is(closed.reason, r.code);
  return r;
}

const nodesFile = () => text(c, '/seed/nodes');

test('the seed\'s own node joins through its seed-client; /seed shows it with its routes and 9P address', async () => {
  const nodes = await waitFor('the seed-client in /seed/nodes', async () => {
    const t = await nodesFile();
    return t.includes('test ') ? t : '';
  });
  assert.match(nodes, /^NODE\s+ROLE\s+HTTP\s+9P\s+KEY/);
  assert.match(nodes, new RegExp(`test\\s+test\\s+http://127.0.0.1:1\\s+127.0.0.1:${node.port}`));
  assert.match(await text(c, '/seed/routes'), /^self\.test \/own -> test=http:\/\/127\.0\.0\.1:1$/m);
  const d = JSON.parse(await text(c, '/seed/directory.json')) as Directory;
  assert.is(d.nodes.length, 1);
  assert.ok(d.nodes[0]!.modules.includes('counter'));
  assert.match(await text(c, '/seed-client/status'), /connected yes/);
});

test('the directory carries each node\'s health, updated when a module\'s check fails and recovers', async () => {
  const health = async () => (JSON.parse(await text(c, '/seed/directory.json')) as Directory).nodes.find((n) => n.node === 'test')?.health;
  await waitFor('the node healthy in the directory', async () => (await health())?.ok === true);
  const g = globalThis as { __counterSick?: boolean };
  g.__counterSick = true;
  try {
    const sick = await waitFor('the failing check in the directory', async () => { const h = await health(); return h?.ok === false ? h : undefined; });
    assert.equal(sick.failing, ['counter']);
  } finally {
    g.__counterSick = false;
  }
  await waitFor('the node healthy again', async () => (await health())?.ok === true);
});

test('a trusted key joins, is pushed to subscribers, and leaves the directory when it disconnects', async () => {
  const watcher = await join(trustedKey, { node: 'watcher', routes: [], http: null });
  await watcher.next('welcome');
  watcher.send({ t: 'subscribe' });
  const first = (await watcher.next('directory') as Extract<SeedMessage, { t: 'directory' }>).directory;
  assert.not.ok(first.nodes.some((n) => n.node === 'peer'));

  const other = newKey();
  const p = await join(other, { token: TOKEN });
  const w = await p.next('welcome') as Extract<SeedMessage, { t: 'welcome' }>;
  assert.is(w.id, other.publicKey);
  assert.is(w.heartbeatMs, 100);
  const pushed = await waitFor('a directory with peer', () => watcher.messages.some((m) => m.t === 'directory' && m.directory.nodes.some((n) => n.node === 'peer')));
  assert.ok(pushed);
  assert.match(await text(c, '/seed/routes'), /^\* \/ -> peer=http:\/\/127\.0\.0\.1:9$/m);

  p.ws.close();
  await waitFor('peer gone from /seed/nodes', async () => !(await nodesFile()).includes('peer '));
  await waitFor('a directory without peer pushed', () => {
    const last = [...watcher.messages].reverse().find((m) => m.t === 'directory') as Extract<SeedMessage, { t: 'directory' }>;
    return !last.directory.nodes.some((n) => n.node === 'peer');
  });
  watcher.ws.close();
});

test('an untrusted key, a forged signature, a wrong join token are each refused with a reason', async () => {
  const stranger = await join(newKey());
  const r1 = await refusal(stranger);
  assert.is(r1.code, 'CHS_ERR_SEED_UNTRUSTED');
  assert.match(r1.reason, /does not trust/);

  const forged = await peer();
  const ch = await forged.next('challenge') as Extract<SeedMessage, { t: 'challenge' }>;
  const msg = signIntro(newKey(), intro(ch.nonce)) as { intro: string; sig: string };
  const claimed = JSON.stringify({ ...JSON.parse(msg.intro), publicKey: trustedKey.publicKey });
  forged.send({ t: 'hello', intro: claimed, sig: msg.sig });
  const r2 = await refusal(forged);
  assert.is(r2.code, 'CHS_ERR_SEED_SIGNATURE');

  const badToken = await join(newKey(), { token: 'not-the-token-at-all-xx' });
  const r3 = await refusal(badToken);
  assert.is(r3.code, 'CHS_ERR_SEED_UNTRUSTED');
  assert.match(r3.reason, /join token/);

  const garbage = await peer();
  await garbage.next('challenge');
  garbage.send({ t: 'ping' });
  assert.is((await refusal(garbage)).code, 'CHS_ERR_SEED_PROTOCOL');
  assert.not.match(await nodesFile(), /peer /);
});

test('a replayed introduction (another connection\'s nonce, or an old timestamp) is refused', async () => {
  const a = await peer();
  const chA = await a.next('challenge') as Extract<SeedMessage, { t: 'challenge' }>;
  const hello = signIntro(trustedKey, intro(chA.nonce));
  const b = await peer();
  await b.next('challenge');
  b.send(hello); // captured from a, replayed on b
  const r = await refusal(b);
  assert.is(r.code, 'CHS_ERR_SEED_REPLAY');
  assert.match(r.reason, /nonce/);

  const old = signIntro(trustedKey, intro(chA.nonce), Date.now() - 120_000);
  a.send(old);
  const r2 = await refusal(a);
  assert.is(r2.code, 'CHS_ERR_SEED_REPLAY');
  assert.match(r2.reason, /timestamp/);
});

test('a node that stops heartbeating is dropped', async () => {
  const p = await join(trustedKey, { node: 'silent' });
  await p.next('welcome');
  await waitFor('silent in /seed/nodes', async () => (await nodesFile()).includes('silent '));
  const started = Date.now();
  // It sends nothing: after 3 missed 100 ms heartbeats the seed drops it.
  const r = await p.next('refused', 3000) as Extract<SeedMessage, { t: 'refused' }>;
  assert.is(r.code, 'CHS_ERR_SEED_HEARTBEAT');
  assert.ok(Date.now() - started < 1500, `dropped after ${Date.now() - started} ms`);
  assert.is((await p.closed).code, 4008);
  assert.not.ok((await nodesFile()).includes('silent '));
});

test('a heartbeating node stays', async () => {
  const p = await join(trustedKey, { node: 'beating' });
  await p.next('welcome');
  const beat = setInterval(() => p.send({ t: 'ping' }), 50);
  await new Promise((r) => setTimeout(r, 600));
  clearInterval(beat);
  assert.ok((await nodesFile()).includes('beating '));
  assert.ok(p.messages.some((m) => m.t === 'pong'));
  p.ws.close();
});

test('/seed/ctl: publish build N reaches every node; reload M on R is carried out by that role\'s nodes', async () => {
  const p = await join(trustedKey, { node: 'fs1', role: 'fileserver', modules: ['fileserver'] });
  await p.next('welcome');
  await c.writeFile('/seed/ctl', 'publish build 7\n');
  const ev = await p.next('event') as Extract<SeedMessage, { t: 'event' }>;
  assert.equal(ev.event, { type: 'build', build: 7 } satisfies SeedEvent);
  assert.match(await text(c, '/seed/ctl'), /^build 7$/m);
  assert.match(await text(c, '/seed/events'), /publish build 7: sent to \d node\(s\):.*fs1/);
  assert.match(await text(c, '/seed-client/status'), /^build 7$/m);

  // The local node has role "test" and runs counter: the seed pushes, its seed-client reloads.
  const before = node.th.host.instances.get('counter')!.status().reloads;
  const fid = await c.walkPath('/seed/ctl');
  await c.open(fid, 'rw');
  await c.write(fid, 0, Buffer.from('reload counter on test\n'));
  const answer = Buffer.from(await c.read(fid, 0, 4096)).toString('utf8');
  await c.clunk(fid);
  assert.match(answer, /reload counter on test: test ok/);
  assert.is(node.th.host.instances.get('counter')!.status().reloads, before + 1);
  // The peer (role fileserver, no counter) got nothing.
  assert.not.ok(p.messages.some((m) => m.t === 'event' && m.event.type === 'reload'));

  const u = await node.connect('9P2000.u'); // 9P2000.u carries the error text (.L only an errno)
  const rejected = await u.writeFile('/seed/ctl', 'frobnicate\n').then(() => null, (e: Error) => e);
  assert.ok(rejected, 'an unknown command fails the write');
  assert.match(rejected!.message, /CHS_ERR_SEED_COMMAND: unknown command "frobnicate"/);
  p.ws.close();
});

test.run();
