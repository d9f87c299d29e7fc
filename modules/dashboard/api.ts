// The page's actions and on-demand reads, as a JSON API under /api, all through ctx.host (the
// same calls the 9P tree and the CLI make):
//   GET  /api/instances/ID/config      effective, override, schema, defaults
//   POST /api/instances/ID/validate    { override } -> { errors } (nothing applied)
//   POST /api/instances/ID/config      { override } -> the new revision (422 with errors if invalid)
//   GET  /api/instances/ID/revisions   revisions, each with its diff from the one before
//   POST /api/instances/ID/revert      { rev }
//   GET  /api/instances/ID/history     versions of the module's code
//   POST /api/instances/ID/rollback    { rev? }
//   POST /api/instances/ID/ACTION      reload | stop | start | test
//   GET  /api/nodes/NODE/FILE...       a cluster node's 9P file (status, failsafe, modules/M/...)
//   POST /api/nodes/NODE/ctl           { path, command } written to that node's ctl file
import type { IncomingMessage, ServerResponse } from 'node:http';
import { diffJson, formatDiff, type HostControl } from 'cheshire/sdk';
import type { Cluster } from './cluster.ts';
import { BODY_MAX, HttpError, readJson, sendJson, sendText } from './http-util.ts';
import type { ConfigDoc, RevisionView } from './protocol.ts';
import type { RemoteNodes } from './remote.ts';

export interface ApiDeps {
  host: HostControl;
  cluster: Cluster;
  remote: RemoteNodes;
}

const ACTIONS = new Set(['reload', 'stop', 'start', 'test']);
/** What a remote node's tree may be read at through the API: its control files, nothing else. */
const REMOTE_FILE = /^(status|failsafe|modules\/[^/]+\/(status|log|config|override|revisions|deps|history))$/;
const REMOTE_CTL = /^(ctl|modules\/[^/]+\/ctl)$/;

function object(v: unknown, what: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, `${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

function revisionViews(list: Awaited<ReturnType<HostControl['revisions']>>): RevisionView[] {
  return list.map((r, k) => ({
    rev: r.rev, at: r.at, source: r.source, ...(r.note ? { note: r.note } : {}), config: r.config,
    diff: k === 0 ? '(first revision)' : formatDiff(diffJson(list[k - 1]!.config, r.config)) || '(no change)',
  }));
}

/** Answers an /api request (`parts`: the path after /api, decoded). */
export async function api(d: ApiDeps, method: string, parts: string[], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [kind, name, ...rest] = parts;
  if (kind === 'instances' && name) return instanceApi(d, method, name, rest.join('/'), req, res);
  if (kind === 'nodes' && name) return nodeApi(d, method, name, rest.join('/'), req, res);
  throw new HttpError(404, `no API at /api/${parts.join('/')}`);
}

async function instanceApi(d: ApiDeps, method: string, id: string, what: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // An unknown id: the host's CHS_ERR_INSTANCE_NOT_FOUND, answered 404.
  const h = d.host;
  const get = method === 'GET';
  const post = method === 'POST';
  if (get && what === 'config') {
    const { effective, override } = h.config(id);
    const { schema, defaults } = h.schema(id);
    const doc: ConfigDoc = { effective, override, schema, defaults };
    return sendJson(res, 200, doc);
  }
  if (post && what === 'validate') {
    const body = await readJson(req, BODY_MAX.config);
    return sendJson(res, 200, { errors: h.validateConfig(id, object(body.override, '"override"')) });
  }
  if (post && what === 'config') {
    const body = await readJson(req, BODY_MAX.config);
    const override = object(body.override, '"override"');
    const errors = h.validateConfig(id, override);
    if (errors.length) return sendJson(res, 422, { errors });
    return sendJson(res, 200, { revision: await h.setConfig(id, override) });
  }
  if (get && what === 'revisions') return sendJson(res, 200, revisionViews(await h.revisions(id)));
  if (post && what === 'revert') {
    const rev = (await readJson(req, BODY_MAX.small)).rev;
    if (!Number.isInteger(rev)) throw new HttpError(400, '"rev" must be an integer');
    return sendJson(res, 200, { revision: await h.revert(id, rev as number) });
  }
  if (get && what === 'history') return sendJson(res, 200, await h.history(id));
  if (post && what === 'rollback') {
    const rev = (await readJson(req, BODY_MAX.small)).rev;
    if (rev !== undefined && rev !== null && !Number.isInteger(rev)) throw new HttpError(400, '"rev" must be an integer or absent');
    return sendJson(res, 200, { entry: await h.rollback(id, (rev ?? undefined) as number | undefined) });
  }
  if (post && ACTIONS.has(what)) {
    await readJson(req, BODY_MAX.small);
    if (what === 'test') {
      const r = await h.test(id);
      return sendJson(res, r.ok ? 200 : 409, { test: r });
    }
    await (what === 'reload' ? h.reload(id) : what === 'stop' ? h.stop(id) : h.start(id));
    return sendJson(res, 200, { ok: true });
  }
  throw new HttpError(get || post ? 404 : 405, `no ${method} /api/instances/${id}/${what}`);
}

async function nodeApi(d: ApiDeps, method: string, nodeName: string, what: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const node = d.cluster.find(nodeName);
  if (!node) throw new HttpError(404, `the seed's directory has no node "${nodeName}"`);
  if (!node.ninep) throw new HttpError(409, `node ${node.node} published no 9P address to the seed`);
  if (method === 'GET' && REMOTE_FILE.test(what)) {
    return sendText(res, 200, await d.remote.read({ address: node.ninep, key: node.id }, `/${what}`, { stream: what.endsWith('/log') }));
  }
  if (method === 'POST' && what === 'ctl') {
    const body = await readJson(req, BODY_MAX.small);
    const path = typeof body.path === 'string' ? body.path.replace(/^\/+/, '') : 'ctl';
    if (!REMOTE_CTL.test(path)) throw new HttpError(400, `"path" must be ctl or modules/M/ctl, not ${JSON.stringify(body.path)}`);
    if (typeof body.command !== 'string' || !body.command.trim() || body.command.length > 4096) throw new HttpError(400, '"command" must be a non-empty string');
    return sendJson(res, 200, { answer: await d.remote.command({ address: node.ninep, key: node.id }, `/${path}`, body.command) });
  }
  throw new HttpError(404, `no ${method} /api/nodes/${nodeName}/${what}`);
}
