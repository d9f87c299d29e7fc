// A node with styx-root on a free loopback port for 9P tests: the project, the host, 9P clients
// that are all closed afterwards, and small read helpers.
import * as assert from 'uvu/assert';
import { Client } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { RemoteError } from '../../fs/errors.ts';
import { freePort } from './diod.ts';
import { makeProject, startHost, type ModuleSpec, type Project, type TestHost } from './project.ts';

export interface StyxNode {
  project: Project;
  th: TestHost;
  port: number;
  /** A new attached client (closed by close()). */
  connect(version: Dialect): Promise<Client>;
  close(): Promise<void>;
}

export async function startStyxNode(opts: {
  modules?: Record<string, ModuleSpec>;
  copy?: string[];
  role: string[];
  config?: Record<string, Record<string, unknown>>;
  /** styx-root's port (default: a free one). */
  port?: number;
}): Promise<StyxNode> {
  const port = opts.port ?? (await freePort());
  const project = await makeProject({
    modules: opts.modules ?? {},
    copy: ['styx-root', ...(opts.copy ?? [])],
    role: ['styx-root', ...opts.role],
    config: { modules: { 'styx-root': { listen: `127.0.0.1:${port}` }, ...opts.config } },
  });
  const th = await startHost(project);
  try {
    for (const id of ['styx-root', ...opts.role]) {
      assert.is(th.host.instances.get(id)?.state, 'active', `${id} did not start: ${th.host.instances.get(id)?.lastError?.message}`);
    }
  } catch (err) {
    // uvu reports a throw in a before hook quietly; at least leave nothing running behind it
    await th.close();
    await project.cleanup();
    throw err;
  }
  const clients: Client[] = [];
  return {
    project,
    th,
    port,
    async connect(version) {
      const c = await Client.connect({ port, version, timeoutMs: 3000 });
      clients.push(c);
      await c.attach({ uname: 'test' });
      return c;
    },
    async close() {
      for (const c of clients.splice(0)) await c.close().catch(() => undefined);
      await th.close();
      await project.cleanup();
    },
  };
}

export const text = async (c: Client, path: string): Promise<string> => (await c.readFile(path)).toString('utf8');

/** The 9P error a promise rejects with (fails the test if it resolves or fails otherwise). */
export async function rejection(p: Promise<unknown>, what: string): Promise<RemoteError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, RemoteError, `${what}: expected a 9P error, got ${(err as Error).message}`);
    return err as RemoteError;
  }
  assert.unreachable(`${what}: expected an error, it succeeded`);
  throw new Error('unreachable');
}
