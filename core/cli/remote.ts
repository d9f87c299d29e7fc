// CLI commands that steer a running node through its 9P tree: status, ls, reload/stop/start/test,
// logs, config get/set/history/revert; and `9p`, a general client for any 9P server.
import { readFile } from 'node:fs/promises';
import type { Client, Entry } from '../../fs/client/client.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { connectNode, ctlCommand, remoteText } from './node-client.ts';

export interface RemoteOptions {
  node: string;
  secret?: string;
  follow: boolean;
  version?: Dialect;
  aname?: string;
}

const out = (text: string): void => {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
};

async function withNode<T>(opts: RemoteOptions, body: (c: Client) => Promise<T>, what?: string): Promise<T> {
  const client = await connectNode(opts.node, { secret: opts.secret, version: opts.version, aname: opts.aname, what });
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

/** Reads a stream file; without `follow`, stops once nothing new arrives for a moment. */
async function readStream(client: Client, path: string, follow: boolean): Promise<void> {
  const fid = await client.walkPath(path);
  try {
    await client.open(fid, 'r');
    for (let off = 0n; ; ) {
      const ac = new AbortController();
      const idle = follow ? undefined : setTimeout(() => ac.abort(), 300);
      let data: Uint8Array;
      try {
        data = await client.read(fid, off, client.iounit, ac.signal);
      } catch (err) {
        if (ac.signal.aborted) return;
        throw err;
      } finally {
        clearTimeout(idle);
      }
      if (!data.length) return;
      process.stdout.write(data);
      off += BigInt(data.length);
    }
  } finally {
    await client.clunk(fid).catch(() => undefined);
  }
}

export async function remoteCommand(cmd: string, args: string[], opts: RemoteOptions): Promise<void> {
  switch (cmd) {
    case 'status':
      return withNode(opts, async (c) => out((await c.readFile('/status')).toString('utf8')));
    case 'ls':
      return withNode(opts, async (c) => {
        for (const e of await c.ls(args[0] ?? '/')) out(entryLine(e));
      });
    case 'reload':
    case 'stop':
    case 'start':
    case 'test':
      return withNode(opts, async (c) => {
        const reply = await ctlCommand(c, '/ctl', `${cmd} ${need(args[0], 'module instance (e.g. hello)')}`);
        out(reply);
        if (cmd === 'test' && reply.startsWith('FAIL')) process.exitCode = 1;
      });
    case 'logs':
      return withNode(opts, (c) => readStream(c, `/modules/${need(args[0], 'module instance')}/log`, opts.follow));
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
      const text = need(arg, 'FILE (JSON, or - for stdin)') === '-' ? await readStdin() : await readFile(arg!, 'utf8');
      return withNode(opts, async (c) => {
        await c.writeFile(`${dir}/config`, text, { create: false, truncate: false });
        out(`config of ${id} applied`);
      });
    }
    case 'history':
      return withNode(opts, async (c) => out((await c.readFile(`${dir}/revisions`)).toString('utf8')));
    case 'revert':
      return withNode(opts, async (c) => out(await ctlCommand(c, `${dir}/ctl`, `revert ${need(arg, 'REV')}`)));
  }
  throw new Error('usage: cheshire config get|set|history|revert M [FILE|REV]');
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
