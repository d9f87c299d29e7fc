// CLI commands that steer a running node through its 9P tree: status, ls, reload/stop/start/test,
// logs, config get/set/history/revert; and `9p`, a general client for any 9P server.
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Client, Entry } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { connectNode, ctlCommand, remoteText } from './node-client.ts';
import { cliTls } from './tls.ts';
import { logsQuery, printLogs, type LogsOptions } from './logs.ts';

export interface RemoteOptions {
  node: string;
  secret?: string;
  follow: boolean;
  version?: Dialect;
  aname?: string;
  /** `enable M --config FILE|-`: the new instance's config section. */
  instanceConfig?: string;
  /** `enable M#I --from DIR`: the (absolute) folder the instance runs from. */
  from?: string;
  /** `--key HEX`: TLS 1.3 to the node, which must prove this ed25519 key (docs/tls.md). */
  key?: string;
  /** The identity presented with --key: this folder's node key when a node ran here (cheshire.json's stateDir). */
  identityFile?: string;
  /** `logs M --since T --level L --lines N --json`. */
  logs?: Omit<LogsOptions, 'follow'>;
}

const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
};

async function withNode<T>(opts: RemoteOptions, body: (c: Client) => Promise<T>, what?: string): Promise<T> {
  const tls = opts.key === undefined ? undefined : await cliTls(opts.key, opts.identityFile);
  const client = await connectNode(opts.node, { secret: opts.secret, version: opts.version, aname: opts.aname, what, ...(tls ? { tls } : {}) });
  try {
    return await body(client);
  } catch (err) {
    throw new Error(remoteText(err), { cause: err });
  } finally {
    await client.close();
  }
}

function entryLine(e: Entry): string {
  const mode = (e.isDir ? 'd' : '-') + [6, 3, 0].map((s) => { const b = (e.mode >> s) & 7; return (b & 4 ? 'r' : '-') + (b & 2 ? 'w' : '-') + (b & 1 ? 'x' : '-'); }).join('');
  return `${mode} ${String(e.size).padStart(10)} ${new Date(e.mtimeMs).toISOString().slice(0, 19).replace('T', ' ')} ${e.name}${e.isDir ? '/' : ''}`;
}

const need = (v: string | undefined, what: string): string => {
  if (!v) throw new Error(`missing ${what}`);
  return v;
};

export async function remoteCommand(cmd: string, args: string[], opts: RemoteOptions): Promise<void> {
  switch (cmd) {
    case 'status':
      return withNode(opts, async (c) => out((await c.readFile('/status')).toString('utf8')));
    case 'ls':
      return withNode(opts, async (c) => {
        for (const e of await c.ls(args[0] ?? '/')) out(entryLine(e));
      });
    case 'stop':
    case 'reload':
    case 'start':
    case 'test':
      if (cmd === 'stop' && args[0] === undefined) return stopNode(opts);
      return withNode(opts, async (c) => {
        const reply = await ctlCommand(c, '/ctl', `${cmd} ${need(args[0], 'module instance (e.g. hello)')}`);
        out(reply);
        if (cmd === 'test' && (reply.startsWith('FAIL') || reply.startsWith('NO TESTS'))) process.exitCode = 1;
      });
    case 'enable': {
      const entry = need(args[0], 'module instance (e.g. styx-provider#scratch)');
      let json = '';
      if (opts.instanceConfig !== undefined) {
        const text = opts.instanceConfig === '-' ? await readStdin() : await readFile(opts.instanceConfig, 'utf8');
        try {
          json = ' ' + JSON.stringify(JSON.parse(text));
        } catch (err) {
          throw new Error(`${opts.instanceConfig === '-' ? 'stdin' : opts.instanceConfig}: not valid JSON (${(err as Error).message})`);
        }
      }
      const from = opts.from === undefined ? '' : ` from=${opts.from}`;
      return withNode(opts, async (c) => out(await ctlCommand(c, '/ctl', `enable ${entry}${from}${json}`)));
    }
    case 'promote':
      return withNode(opts, async (c) => out(await ctlCommand(c, '/ctl', `promote ${need(args[0], 'module instance run beside its module (e.g. hello#beta)')}`)));
    case 'disable':
      return withNode(opts, async (c) => out(await ctlCommand(c, '/ctl', `disable ${need(args[0], 'module instance')}`)));
    case 'history':
      return withNode(opts, async (c) => out((await c.readFile(`/modules/${need(args[0], 'module instance')}/history`)).toString('utf8')));
    case 'rollback': {
      const id = need(args[0], 'module instance');
      if (args[1] !== undefined && !/^\d+$/.test(args[1])) throw new Error(`usage: cheshire rollback M [REV] ("${args[1]}" is not a revision number; see cheshire history ${id})`);
      return withNode(opts, async (c) => out(await ctlCommand(c, `/modules/${id}/ctl`, `rollback${args[1] ? ` ${args[1]}` : ''}`)));
    }
    case 'logs': {
      const id = need(args[0], 'module instance');
      const query = logsQuery({ follow: opts.follow, ...opts.logs });
      return withNode(opts, (c) => printLogs(c, id, query, opts.logs?.json ?? false, (text) => process.stdout.write(text)));
    }
    case 'config':
      return configCommand(args, opts);
    case 'cat':
      return withNode(opts, async (c) => { process.stdout.write(await c.readFile(need(args[0], 'PATH'))); });
    case 'ctl': {
      // any ctl file of the tree: `cheshire ctl /fileserver/ctl token ttl=600`
      const path = need(args[0], 'PATH of a ctl file');
      return withNode(opts, async (c) => out(await ctlCommand(c, path, need(args.slice(1).join(' ') || undefined, 'COMMAND'))));
    }
    case 'seed': {
      const what = args[0] ?? 'nodes';
      if (what !== 'nodes' && what !== 'routes') throw new Error('usage: cheshire seed nodes|routes');
      return withNode(opts, async (c) => out((await c.readFile(`/seed/${what}`)).toString('utf8')));
    }
  }
  throw new Error(`unknown command "${cmd}"`);
}

async function configCommand(args: string[], opts: RemoteOptions): Promise<void> {
  const [sub, id, arg] = args;
  const dir = `/modules/${need(id, 'module instance')}`;
  switch (sub) {
    case 'get':
      return withNode(opts, async (c) => out((await c.readFile(`${dir}/config`)).toString('utf8')));
    case 'set': {
      const source = setSource(args.slice(2));
      if (source.kind === 'keys') {
        // The node's own section (override, no defaults) is edited and written back whole: one
        // write, one revision, and defaults the node did not set stay defaults.
        return withNode(opts, async (c) => {
          const current = JSON.parse((await c.readFile(`${dir}/override`)).toString('utf8')) as Record<string, unknown>;
          const text = JSON.stringify(applyAssignments(current, source.keys), null, 2) + '\n';
          await c.writeFile(`${dir}/config`, text, { create: false, truncate: false });
          out(`config of ${id} applied: ${source.keys.map(describeAssignment).join(', ')}`);
        });
      }
      const text = source.kind === 'stdin' ? await readStdin() : await readFile(source.file, 'utf8');
      return withNode(opts, async (c) => {
        await c.writeFile(`${dir}/config`, text, { create: false, truncate: false });
        out(`config of ${id} applied`);
      });
    }
    case 'history':
      return withNode(opts, async (c) => out((await c.readFile(`${dir}/revisions`)).toString('utf8')));
    case 'revert':
    case 'pin':
    case 'unpin':
      return withNode(opts, async (c) => out(await ctlCommand(c, `${dir}/ctl`, `${sub} ${need(arg, 'REV')}`)));
  }
  throw new Error('usage: cheshire config get|set|history|revert|pin|unpin M [FILE|-|KEY=VALUE...|REV]');
}

/** One `KEY=VALUE` of `config set M KEY=VALUE...`; `path` is KEY split at dots. */
export interface Assignment {
  key: string;
  path: string[];
  /** Absent for `KEY=`: the key is removed. */
  value?: unknown;
}

// Keys that would reach an object's prototype instead of setting a config key.
const UNSAFE_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

/** `port=8085` -> 8085, `debug=true`, `tags=["a"]` (JSON when it parses), `greeting=Bonjour` -> a string, `key=` -> removal. */
export function parseAssignment(arg: string): Assignment {
  const eq = arg.indexOf('=');
  const key = arg.slice(0, eq);
  const path = key.split('.');
  if (eq < 0 || path.some((p) => p === '' || UNSAFE_KEYS.has(p))) throw new Error(`"${arg}" is not KEY=VALUE (KEY: a name, or names joined by dots)`);
  const raw = arg.slice(eq + 1);
  if (raw === '') return { key, path };
  try {
    return { key, path, value: JSON.parse(raw) };
  } catch {
    return { key, path, value: raw };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A copy of `config` with each assignment applied in order; dotted keys create or edit nested objects. */
export function applyAssignments(config: Record<string, unknown>, keys: Assignment[]): Record<string, unknown> {
  const out = structuredClone(config);
  for (const a of keys) {
    let obj: Record<string, unknown> | undefined = out;
    for (const [i, part] of a.path.slice(0, -1).entries()) {
      const cur: unknown = Object.hasOwn(obj, part) ? obj[part] : undefined;
      if (cur === undefined) {
        if (!('value' in a)) { obj = undefined; break; } // removing under a missing object: nothing to do
        obj = obj[part] = {};
      } else if (isObject(cur)) {
        obj = cur;
      } else {
        throw new Error(`${a.key}: ${a.path.slice(0, i + 1).join('.')} is ${JSON.stringify(cur)}, not an object`);
      }
    }
    if (!obj) continue;
    const last = a.path.at(-1)!;
    if ('value' in a) obj[last] = a.value;
    else delete obj[last];
  }
  return out;
}

const describeAssignment = (a: Assignment): string => ('value' in a ? `${a.key}=${JSON.stringify(a.value)}` : `${a.key} removed`);

type SetSource = { kind: 'stdin' } | { kind: 'file'; file: string } | { kind: 'keys'; keys: Assignment[] };

/**
 * What `config set M ...` was given: one FILE, `-`, or KEY=VALUE arguments, never a mix. An
 * existing file wins over an argument that merely contains `=` (a path like `./a=b.json`).
 */
function setSource(args: string[]): SetSource {
  if (!args.length) throw new Error('missing FILE (JSON), - (stdin) or KEY=VALUE...');
  const isFile = (a: string) => { try { return statSync(a).isFile(); } catch { return false; } };
  const sources = args.map((a): SetSource => {
    if (a === '-') return { kind: 'stdin' };
    if (isFile(a)) return { kind: 'file', file: a };
    if (a.includes('=')) return { kind: 'keys', keys: [parseAssignment(a)] };
    throw new Error(`"${a}" is neither a file, - (stdin), nor KEY=VALUE`);
  });
  if (sources.every((s) => s.kind === 'keys')) return { kind: 'keys', keys: sources.flatMap((s) => (s.kind === 'keys' ? s.keys : [])) };
  if (sources.length > 1) throw new Error(`config set takes one FILE, one -, or KEY=VALUE arguments, not a mix: ${args.join(' ')}`);
  return sources[0]!;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `cheshire 9p ls|cat|write|stat ADDR PATH [DATA]`: any 9P server (ours, diod, plan9port). */
export async function ninepCommand(args: string[], opts: RemoteOptions): Promise<void> {
  const [op, addr, path = '/', data] = args;
  const o = { ...opts, node: need(addr, 'ADDR (host:port)'), version: opts.version ?? '9P2000.L' };
  return withNode(o, async (c) => {
    switch (op) {
      case 'ls':
        for (const e of await c.ls(path)) out(entryLine(e));
        return;
      case 'cat':
        process.stdout.write(await c.readFile(path));
        return;
      case 'write': {
        const body = data === undefined || data === '-' ? await readStdin() : data;
        await c.writeFile(path, body, { create: true, truncate: true });
        return;
      }
      case 'stat':
        out(entryLine(await c.statPath(path)));
        return;
    }
    throw new Error('usage: cheshire 9p ls|cat|write|stat ADDR PATH [DATA|-]');
  }, '9P server');
}

/** Seconds `cheshire stop` waits for a node on this machine to exit. */
const STOP_WAIT_MS = 60_000;

/** `cheshire stop`: the node stops as a whole (gracefully, every instance in reverse order); waits for a local node's process to exit. */
async function stopNode(opts: RemoteOptions): Promise<void> {
  const reply = await withNode(opts, (c) => ctlCommand(c, '/ctl', 'shutdown'));
  out(reply);
  const pid = Number(/\(pid (\d+)\)/.exec(reply)?.[1]);
  if (!Number.isInteger(pid) || !isLoopbackAddress(opts.node)) return;
  const deadline = Date.now() + STOP_WAIT_MS;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      out(`stopped (pid ${pid} exited)\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pid ${pid} is still running ${STOP_WAIT_MS / 1000} s after the shutdown request (see its log)`);
}

function isLoopbackAddress(addr: string): boolean {
  const host = addr.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
