// HTTP requests in the node's metrics: hello, the proxy and the fileserver count their answers in
// one family, cheshire_http_requests_total{module, route, status}, with bounded route names.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort } from '../../base/free-port.ts';
import { closeAgent, get, makeProject, startHost, waitFor, type Project, type TestHost } from '../helpers/project.ts';
import { parseExposition, sampleValue } from '../helpers/prom-text.ts';

let project: Project;
let th: TestHost;
let helloPort: number;

test.before(async () => {
  helloPort = await freePort();
  project = await makeProject({
    modules: {},
    copy: ['hello', 'greeter', 'proxy', 'fileserver'],
    role: ['hello', 'proxy', 'fileserver'],
    config: {
      modules: {
        hello: { port: helloPort },
        proxy: { port: 0, routes: [{ prefix: '/', nodes: [`http://127.0.0.1:${helloPort}`] }] },
        fileserver: { port: 0 },
      },
    },
  });
  th = await startHost(project, { watch: false });
  for (const id of ['hello', 'proxy', 'fileserver']) assert.is(th.host.instances.get(id)?.state, 'active', `${id}: ${th.host.instances.get(id)?.lastError?.message}`);
});

test.after(async () => {
  closeAgent();
  await th?.close();
  await project?.cleanup();
});

const urlOf = (id: string) => (th.host.instances.get(id)!.run!.service as { url(): string }).url();
const count = async (labels: Record<string, string>) => sampleValue(parseExposition((await th.host.control.metrics()).text), 'cheshire_http_requests_total', labels) ?? 0;

test('hello, proxy and fileserver count their answers by route and status in one family', async () => {
  assert.is((await get(`http://127.0.0.1:${helloPort}/`)).status, 200);
  assert.is((await get(`http://127.0.0.1:${helloPort}/greet?name=Ada`)).status, 200);
  assert.is((await get(`${urlOf('proxy')}/`)).status, 200);
  const fs = urlOf('fileserver');
  assert.is((await get(`${fs}/missing.txt`)).status, 404);
  assert.is((await get(`${fs}/static/${'0'.repeat(64)}/x.txt`)).status, 404);
  assert.is((await get(`${fs}/upload`)).status, 405, 'an upload takes PUT or POST');
  await waitFor('every answer counted', async () => (await count({ module: 'fileserver', route: 'upload', status: '405' })) === 1);
  // hello answered its own two and the one the proxy relayed
  assert.is(await count({ module: 'hello', route: '/', status: '200' }), 2);
  assert.is(await count({ module: 'hello', route: '/greet', status: '200' }), 1);
  assert.is(await count({ module: 'proxy', route: '*/', status: '200' }), 1);
  assert.is(await count({ module: 'fileserver', route: 'app', status: '404' }), 1);
  assert.is(await count({ module: 'fileserver', route: 'static', status: '404' }), 1);
  const text = (await th.host.control.metrics()).text;
  assert.is(text.split('\n').filter((l) => l === '# TYPE cheshire_http_requests_total counter').length, 1);
});

test('the proxy counts a request no route serves under route "none"', async () => {
  await th.host.control.setConfig('proxy', { port: 0, routes: [] });
  await waitFor('the proxy restarted', () => th.host.instances.get('proxy')?.state === 'active');
  assert.is((await get(`${urlOf('proxy')}/`)).status, 503);
  assert.is(await count({ module: 'proxy', route: 'none', status: '503' }), 1);
});

test.run();
