// The node identity: an ed25519 key created once (mode 0600), the same on every later start,
// shown as the node's public key; a key file others can read is refused.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateIdentity, verifySignature } from '../../core/identity.ts';
import { makeProject, startHost } from '../helpers/project.ts';

test('created with mode 0600 on first use, the same key afterwards; signatures verify', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'chs-id-'));
  try {
    const file = join(dir, 'state', 'node.key');
    const a = await loadOrCreateIdentity(file);
    assert.is((await stat(file)).mode & 0o777, 0o600);
    assert.match(a.publicKey, /^[0-9a-f]{64}$/);
    const b = await loadOrCreateIdentity(file);
    assert.is(b.publicKey, a.publicKey);
    const msg = Buffer.from('announce /export/home');
    const sig = a.sign(msg);
    assert.ok(verifySignature(a.publicKey, msg, sig));
    assert.not.ok(verifySignature(a.publicKey, Buffer.from('something else'), sig));
    await chmod(file, 0o644);
    try {
      await loadOrCreateIdentity(file);
      assert.unreachable('a world-readable key must be refused');
    } catch (err) {
      assert.match((err as Error).message, /^CHS_ERR_IDENTITY: .*node\.key is readable by others \(mode 644\)/);
    }
    await writeFile(file, 'not a key', { mode: 0o600 });
    await chmod(file, 0o600);
    try {
      await loadOrCreateIdentity(file);
      assert.unreachable('garbage must be refused');
    } catch (err) {
      assert.match((err as Error).message, /does not hold an ed25519 private key/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the host loads it from its state dir, shows it in status and gives it to modules', async () => {
  const p = await makeProject({ modules: { m: { index: 'export function start(ctx: any) { return { key: ctx.host.identity.publicKey, dir: ctx.stateDir }; }' } }, role: ['m'] });
  const th = await startHost(p);
  try {
    const st = th.host.status();
    assert.match(st.publicKey ?? '', /^[0-9a-f]{64}$/);
    const svc = th.host.instances.get('m')!.run!.service as { key: string; dir: string };
    assert.is(svc.key, st.publicKey);
    assert.is(svc.dir, join(p.dir, '.cheshire', 'modules', 'm'));
    assert.ok((await stat(svc.dir)).isDirectory(), 'ctx.stateDir exists before start');
    assert.is((await stat(join(p.dir, '.cheshire', 'node.key'))).mode & 0o777, 0o600);
  } finally {
    await th.close();
    await p.cleanup();
  }
});

test.run();
