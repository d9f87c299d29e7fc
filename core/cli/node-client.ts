// The CLI's connection to a 9P server: a node's tree (default 127.0.0.1:6666) or any server.
// Attaches with the shared secret when one is given (CHESHIRE_SECRET or --secret), and turns
// "nothing listens there" into one clear sentence.
import type { TlsDial } from '../../base/tls/dial.ts';
import { Client } from '../../fs/client/client.ts';
import { RemoteError } from '../../fs/errors.ts';
import { answerChallenge } from '../../fs/server/secret-auth.ts';
import { NONUNAME } from '../../fs/codec/constants.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { chsError } from '../errors.ts';

export interface NodeAddress {
  host: string;
  port: number;
}

export function parseAddress(addr: string, defaultPort = 6666): NodeAddress {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(addr.trim());
  if (!m || !m[1]) throw chsError('CHS_ERR_NODE_UNREACHABLE', `"${addr}" is not HOST:PORT`);
  return { host: m[1], port: m[2] ? Number(m[2]) : defaultPort };
}

export async function connectNode(
  addr: string,
  opts: { secret?: string; version?: Dialect; aname?: string; what?: string; tls?: TlsDial } = {},
): Promise<Client> {
  const { host, port } = parseAddress(addr);
  let client: Client;
  try {
    // 9P2000.u by default: its Rerror carries the server's text (a refused config says why);
    // .L's Rlerror carries only an errno.
    client = await Client.connect({ host, port, version: opts.version ?? '9P2000.u', timeoutMs: 3000, ...(opts.tls ? { tls: opts.tls } : {}) });
  } catch (err) {
    if (/^CHS_ERR_TLS_/.test((err as { code?: string }).code ?? '')) throw err;
    const what = opts.what ?? 'Cheshire node';
    const refused = /ECONNREFUSED/.test((err as Error).message);
    throw chsError('CHS_ERR_NODE_UNREACHABLE', refused
      ? `no ${what} is listening on ${host}:${port}${opts.what ? '' : ' (is it running? start one with `npx cheshire start`)'}`
      : `cannot reach ${host}:${port}: ${(err as Error).message}`, err);
  }
  try {
    const uname = process.env.USER ?? 'cheshire';
    if (opts.secret) {
      const afid = client.allocFid();
      await client.rpc({ type: 'Tauth', afid, uname, aname: opts.aname ?? '', ...(client.dialect === '9P2000' ? {} : { nUname: NONUNAME }) });
      const nonce = Buffer.from(await client.read(afid, 0, 128)).toString('utf8');
      await client.write(afid, 0, Buffer.from(answerChallenge(opts.secret, nonce)));
      await client.attach({ afid, uname, aname: opts.aname ?? '' });
      await client.clunk(afid).catch(() => undefined);
    } else {
      await client.attach({ uname, aname: opts.aname ?? '' });
    }
    return client;
  } catch (err) {
    await client.close();
    throw err;
  }
}

/** Writes one command to a ctl file and returns what the same fid reads back. */
export async function ctlCommand(client: Client, path: string, command: string): Promise<string> {
  const fid = await client.walkPath(path);
  try {
    await client.open(fid, 'rw');
    await client.writeAll(fid, 0n, Buffer.from(command + '\n'));
    const parts: Uint8Array[] = [];
    for (let off = 0n; ; ) {
      const data = await client.read(fid, off, client.iounit);
      if (!data.length) break;
      parts.push(data);
      off += BigInt(data.length);
    }
    return Buffer.concat(parts).toString('utf8');
  } finally {
    await client.clunk(fid).catch(() => undefined);
  }
}

/** The server's error text for a failed request, else the error's message. */
export function remoteText(err: unknown): string {
  return err instanceof RemoteError ? err.ename : (err as Error).message;
}
