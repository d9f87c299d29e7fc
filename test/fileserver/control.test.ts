// The /fileserver 9P subtree and reloads: `invalidate` on ctl re-reads the assets (as the
// service call does), `token` issues an upload token, `publish` and `vhost` edit the store's
// versions and the virtual hosts (a config revision); status/vhosts/versions/assets read back.
// Saving the module's code under keep-alive load refuses and fails no request, and the
// in-memory assets are handed over rather than re-read.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '../../fs/client/client.ts';
import { underLoad, waitFor } from '../helpers/project.ts';
import { startStyxNode, text, type StyxNode } from '../helpers/styx-node.ts';
import { agent, request, service } from './helpers.ts';

let node: StyxNode;
let c: Client;
let assetsDir: string;

test.before(async () => {
  assetsDir = await mkdtemp(join(tmpdir(), 'chs-fs-assets-'));
  await writeFile(join(assetsDir, 'index.html'), 'build 1\n');
  node = await startStyxNode({ copy: ['fileserver'], role: ['fileserver'], config: { fileserver: { port: 0, assetsDir } } });
  c = await node.connect('9P2000.u'); // .u carries error texts
});

test.after(async () => {
  agent.destroy();
  await node?.close();
  await rm(assetsDir, { recursive: true, force: true });
});

const ctl = async (command: string): Promise<string> => {
  const fid = await c.walkPath('/fileserver/ctl');
  try {
    await c.open(fid, 'rw');
    await c.writeAll(fid, 0n, Buffer.from(command + '\n'));
    // a command that changes the config restarts the module: its old ctl is then stale (ESTALE)
    return Buffer.from(await c.read(fid, 0n, 65536).catch(() => new Uint8Array())).toString('utf8');
  } finally {
    await c.clunk(fid).catch(() => undefined);
  }
};
const base = () => service(node.th).url();

test('/fileserver lists ctl, status, vhosts, versions, assets', async () => {
  assert.equal((await c.ls('/fileserver')).map((e) => e.name).sort(), ['assets', 'ctl', 'status', 'versions', 'vhosts']);
  assert.match(await text(c, '/fileserver/assets'), / 8 index\.html\n$/);
  const st = JSON.parse(await text(c, '/fileserver/status'));
  assert.is(st.assets.files, 1);
});

test('ctl invalidate re-reads the assets; the service call does too', async () => {
  assert.is((await request(`${base()}/`)).body.toString(), 'build 1\n');
  await writeFile(join(assetsDir, 'index.html'), 'build 2\n');
  assert.is((await request(`${base()}/`)).body.toString(), 'build 1\n', 'served from memory until invalidated');
  assert.match(await ctl('invalidate'), /^assets generation 2: 1 files, 8 bytes\n$/);
  assert.is((await request(`${base()}/`)).body.toString(), 'build 2\n');
  await writeFile(join(assetsDir, 'index.html'), 'build 3\n');
  await writeFile(join(assetsDir, 'new.txt'), 'new file\n');
  const r = await service(node.th).invalidate();
  assert.is(r.files, 2);
  assert.is((await request(`${base()}/`)).body.toString(), 'build 3\n');
  assert.is((await request(`${base()}/new.txt`)).body.toString(), 'new file\n');
});

test('ctl token issues a working token; publish and vhost edit versions and virtual hosts', async () => {
  const answer = await ctl('token maxBytes=1000 ttl=60 uses=2');
  const m = /^(\S+) expires=\S+ uses=2 maxBytes=1000\n$/.exec(answer);
  assert.ok(m, answer);
  const up = await request(`${base()}/upload?token=${m![1]}&name=a.txt`, { method: 'POST', body: 'hello vhost\n', agent: false });
  assert.is(up.status, 201, up.body.toString());
  const sha = JSON.parse(up.body.toString()).sha256 as string;
  assert.match(await ctl(`publish v7 docs/a.txt=${sha}`), /published v7: 1 files/);
  assert.is((await request(`${base()}/static/v7/docs/a.txt`)).body.toString(), 'hello vhost\n');
  assert.equal(JSON.parse(await text(c, '/fileserver/versions')), { v7: { 'docs/a.txt': sha } });
  await ctl(`vhost files.test /hello ${sha}`);
  await waitFor('the vhost to be served', async () => (await request(`${base()}/hello`, { headers: { host: 'files.test' } })).body.toString() === 'hello vhost\n', 5000);
  const c2 = await node.connect('9P2000.u'); // the module restarted with its new config: a fresh walk
  assert.equal(JSON.parse(await text(c2, '/fileserver/vhosts')), { 'files.test': { '/hello': sha } });
  const saved = JSON.parse(await readFile(node.project.configFile, 'utf8'));
  assert.equal(saved.modules.fileserver.vhosts, { 'files.test': { '/hello': sha } }, 'recorded in the node config');
  c = c2;
  try {
    await ctl(`vhost files.test /x ${'0'.repeat(64)}`);
    assert.unreachable('an unknown object was accepted');
  } catch (err) {
    assert.match((err as Error).message, /no object/, (err as Error).message);
  }
  await ctl('unvhost files.test');
  await waitFor('the vhost to be gone', async () => (await request(`${base()}/hello`, { headers: { host: 'files.test' } })).status === 404, 5000);
});

test('a code reload under load refuses no request and hands the assets over', async () => {
  const th = node.th;
  const generation = (service(th).stats() as { assets: { generation: number } }).assets.generation;
  const reloads = th.host.instances.get('fileserver')!.reloads;
  const url = `${base()}/`;
  const { ok, failures } = await underLoad(
    4,
    async () => { const r = await request(url); return (r.status === 200 && r.body.toString() === 'build 3\n') || `${r.status} ${r.body}`; },
    async () => {
      const file = node.project.modulePath('fileserver', 'index.ts');
      const src = await readFile(file, 'utf8');
      assert.ok(src.includes('serving on'));
      for (let i = 1; i <= 3; i++) {
        await node.project.write('modules/fileserver/index.ts', src.replace('serving on', `serving (edit ${i}) on`));
        await waitFor(`reload ${i}`, () => th.host.instances.get('fileserver')!.reloads === reloads + i && th.host.instances.get('fileserver')!.state === 'active', 10_000);
      }
    },
  );
  assert.equal(failures, []);
  assert.ok(ok > 10, `requests were served (${ok})`);
  assert.is((service(th).stats() as { assets: { generation: number } }).assets.generation, generation, 'assets handed over, not re-read');
});

test.run();
