// `--key HEX`: the CLI reaches a node over TLS 1.3 and the node must prove that key. A wrong key
// is refused naming both keys; a malformed one is refused before dialling. From a folder where a
// node ran, the CLI presents that node's key; elsewhere a one-off key.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cheshire, show } from '../helpers/cli.ts';
import { startStyxNode, type StyxNode } from '../helpers/styx-node.ts';

let a: StyxNode | undefined;
let elsewhere: string;
const keyOfA = () => a!.th.host.status().publicKey!;

test.before(async () => {
  elsewhere = await mkdtemp(join(tmpdir(), 'chs-cli-tls-'));
  a = await startStyxNode({ role: [] });
});

test.after(async () => {
  await a?.close();
  await rm(elsewhere, { recursive: true, force: true });
});

test('status over TLS pinned to the node key, presenting a one-off key from a folder where no node ran', async () => {
  const r = await cheshire(['status', '--node', `127.0.0.1:${a!.port}`, '--key', keyOfA()], { cwd: elsewhere });
  assert.is(r.code, 0, show(r));
  assert.match(r.stdout, /styx-root\s+active/);
});

test('from the node\'s own folder the CLI presents the node\'s key: a peers list of that key admits it, and only it', async () => {
  // styx-root admits only its own node's key from now on (a config change: styx-root reloads).
  await a!.th.host.control.setConfig('styx-root', { listen: `127.0.0.1:${a!.port}`, peers: [keyOfA()] });
  const own = await cheshire(['9p', 'cat', `127.0.0.1:${a!.port}`, '/modules/styx-root/status', '--key', keyOfA()], { cwd: a!.project.dir });
  assert.is(own.code, 0, show(own));
  assert.match(own.stdout, /active/);
  const other = await cheshire(['status', '--node', `127.0.0.1:${a!.port}`, '--key', keyOfA()], { cwd: elsewhere });
  assert.is(other.code, 1, `a one-off key is not in peers: ${show(other)}`);
  assert.not.match(other.stdout, /active/);
  // Told why (the answer to its Tversion), not just a closed connection.
  assert.match(other.stderr, /CHS_ERR_TLS_PEER_KEY: .*presented key [0-9a-f]{64}: not one of the 1 key\(s\) in styx-root's "peers"/, show(other));
  await a!.th.host.control.setConfig('styx-root', { listen: `127.0.0.1:${a!.port}` });
});

test('a node that cannot prove the given key is refused, naming both keys', async () => {
  const wrong = randomBytes(32).toString('hex');
  const r = await cheshire(['status', '--node', `127.0.0.1:${a!.port}`, '--key', wrong], { cwd: elsewhere });
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /CHS_ERR_TLS_PEER_KEY/);
  assert.ok(r.stderr.includes(wrong) && r.stderr.includes(keyOfA()), show(r));
  assert.not.match(r.stdout, /styx-root/);
});

test('a malformed key is refused before dialling', async () => {
  const r = await cheshire(['status', '--node', `127.0.0.1:${a!.port}`, '--key', 'abc'], { cwd: elsewhere });
  assert.is(r.code, 1, show(r));
  assert.match(r.stderr, /CHS_ERR_TLS_KEY.*--key "abc"/);
});

test.run();
