// Defence in depth for the DHT's UDP socket: every datagram goes through a policy check before
// it reaches the network. Unless public addresses are allowed by configuration, a send to an
// address that is neither loopback, nor in the configured allow-list (CIDRs), nor one of the
// configured bootstrap nodes is dropped and counted, so a library default (the public routers,
// a re-bootstrap when the table empties, a public node learnt from a peer) can never leak out.
import type { Socket } from 'node:dgram';
import { BlockList, isIP } from 'node:net';

export interface GuardPolicy {
  /** Send anywhere (only when configured: mainline-dht joining the public DHT). */
  allowPublic?: boolean;
  /** Extra addresses or CIDRs a private cluster may use (e.g. `10.0.0.0/8`). Loopback is always allowed. */
  allow?: readonly string[];
}

export interface SocketGuard {
  /** Datagrams refused, and the last few destinations refused (newest last). */
  readonly dropped: number;
  readonly droppedTo: readonly string[];
  /** Datagrams let through. */
  readonly sent: number;
  /** Allows one more exact address (a configured bootstrap node once resolved). */
  allowAddress(ip: string): void;
  allows(ip: string): boolean;
  describe(): string;
}

function addressType(ip: string): 'ipv4' | 'ipv6' | null {
  const t = isIP(ip);
  return t === 4 ? 'ipv4' : t === 6 ? 'ipv6' : null;
}

/** Parses `allow` entries; a bad entry throws with the entry in the message. */
export function buildAllowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  for (const entry of entries) {
    const [addr = '', bits] = entry.split('/');
    const type = addressType(addr);
    if (!type || (bits !== undefined && !/^\d+$/.test(bits))) throw new Error(`allow: "${entry}" is not an IP address or CIDR`);
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return list;
}

export function isLoopbackAddress(ip: string): boolean {
  const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return /^127\./.test(plain) || plain === '::1';
}

/**
 * Wraps `socket.send` (an own property in front of dgram's prototype method) with the policy.
 * A refused send calls its callback with an EPERM-like error on the next tick, as a failed send would.
 */
export function guardSocket(socket: Socket, policy: GuardPolicy): SocketGuard {
  const list = buildAllowList(policy.allow ?? []);
  const extra = new Set<string>();
  const droppedTo: string[] = [];
  let dropped = 0;
  let sent = 0;
  const allows = (ip: string): boolean => {
    if (policy.allowPublic) return true;
    const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    const type = addressType(plain);
    return type !== null && (extra.has(plain) || list.check(plain, type));
  };
  const original = socket.send;
  const guarded = function (this: Socket, ...args: unknown[]): void {
    const offsetForm = typeof args[1] === 'number' && typeof args[2] === 'number' && args.length >= 5;
    const address = offsetForm ? args[4] : args[2];
    const port = offsetForm ? args[3] : args[1];
    if (typeof address !== 'string' || !allows(address)) {
      dropped++;
      droppedTo.push(`${String(address)}:${String(port)}`);
      if (droppedTo.length > 16) droppedTo.shift();
      const cb = args.findLast((a) => typeof a === 'function') as ((err: Error) => void) | undefined;
      if (cb) {
        const err = Object.assign(new Error(`dht: send to ${String(address)} refused by the address policy`), { code: 'EPERM' });
        process.nextTick(cb, err);
      }
      return;
    }
    sent++;
    (original as (...a: unknown[]) => void).apply(this, args);
  };
  Object.defineProperty(socket, 'send', { value: guarded, configurable: true, writable: true });
  return {
    get dropped() { return dropped; },
    get droppedTo() { return droppedTo; },
    get sent() { return sent; },
    allowAddress(ip) { extra.add(ip); },
    allows,
    describe: () => policy.allowPublic
      ? 'any address (allowPublic)'
      : `loopback${policy.allow?.length ? `, ${policy.allow.join(', ')}` : ''}${extra.size ? `, bootstrap ${[...extra].join(', ')}` : ''}`,
  };
}
