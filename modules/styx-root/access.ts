// Who may attach to the node's tree. On loopback, local clients may by default. Listening on any
// other address needs a policy: an allow-list of client addresses (exact or CIDR) and/or a
// shared secret proven through Tauth (an HMAC challenge, so the secret never crosses the wire).
import { BlockList, isIP } from 'node:net';
import { E, secretConversation, type AuthInfo, type AuthProvider, type AttachRequest } from 'cheshire/sdk';

export interface AccessConfig {
  allow?: string[];
  secret?: string;
}

export interface AccessPolicy {
  admit(req: AttachRequest): void;
  auth?: AuthProvider;
  describe: string;
}

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** "ip:port" or "[v6]:port" -> bare address (IPv4-mapped IPv6 unwrapped). */
export function peerAddress(remote: string): string {
  const m = /^\[?(.*?)\]?:\d+$/.exec(remote);
  const ip = m ? m[1]! : remote;
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

function blockList(entries: string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, bits] = entry.split('/');
    const type = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
    if (!isIP(addr ?? '')) throw new Error(`allow: "${entry}" is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(addr!, type);
    else list.addSubnet(addr!, Number(bits), type);
  }
  return list;
}

/** Throws (the caller turns it into CHS_ERR_ACCESS_POLICY) when a non-loopback listen has no policy. */
export function accessPolicy(listenHost: string, cfg: AccessConfig): AccessPolicy {
  const explicit = cfg.allow ?? [];
  if (!isLoopback(listenHost) && explicit.length === 0 && !cfg.secret) {
    throw new Error(`listening on ${listenHost} (not loopback) needs an access policy: set "allow" (client addresses or CIDRs) and/or "secret"`);
  }
  const allowed = blockList(explicit.length || cfg.secret ? explicit : LOOPBACK);
  const allows = (remote: string) => {
    const ip = peerAddress(remote);
    return isIP(ip) !== 0 && allowed.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  };
  const secret = cfg.secret;
  const auth: AuthProvider | undefined = secret
    ? { begin: () => secretConversation(secret), allowUnauthenticated: (info: AuthInfo) => allows(info.remote) }
    : undefined;
  return {
    admit(req) {
      if (req.authenticated || allows(req.remote)) return;
      throw E.perm.withText(secret ? 'authentication required' : `address ${peerAddress(req.remote)} not allowed`);
    },
    auth,
    describe: `${explicit.length ? `allow ${explicit.join(', ')}` : secret ? 'no address allow-list' : 'loopback clients'}${secret ? ', shared secret via Tauth' : ''}`,
  };
}
