// The /dht/ctl commands, each answered with readable text (read back from the same fid):
//   bootstrap HOST:PORT [HOST:PORT...]   ping them, then fill the table (no argument: the configured list)
//   put SALT VALUE...                    BEP 44 mutable item signed with the node key
//   get PUBKEY|self [SALT]               BEP 44 mutable get (network, verified)
//   put-immutable VALUE...               BEP 44 immutable item (target: sha1 of the bencoded value)
//   get-immutable TARGET                 BEP 44 immutable get (network, verified)
//   announce INFOHASH [PORT]             BEP 5 announce_peer (no port: implied, our DHT port)
//   lookup INFOHASH                      BEP 5 get_peers
//   export PATH HOST:PORT [ANAME]        announceExport;  withdraw PATH
//   find PATH                            findExports
//   save                                 write the routing table to the state directory now
// SALT and VALUE are text, or hex:… / text:… (ctl-bytes.ts); a VALUE may also be bencoded:….
import { dhtError } from './errors.ts';
import { parseInfohash } from './address.ts';
import { parseBytes, parseValue, showValue } from './ctl-bytes.ts';
import type { DhtService } from './types.ts';

export const USAGE = [
  'bootstrap [HOST:PORT...]',
  'put SALT VALUE',
  'get PUBKEY|self [SALT]',
  'put-immutable VALUE',
  'get-immutable TARGET',
  'announce INFOHASH [PORT]',
  'lookup INFOHASH',
  'export PATH HOST:PORT [ANAME]',
  'withdraw PATH',
  'find PATH',
  'save',
].join(' | ') + ' (SALT, VALUE: text, hex:…, text:…; VALUE also bencoded:…)';

const ms = (n: number) => `${Math.round(n)} ms`;

/** What follows the first `n` words of `line` (a value may contain spaces). */
const rest = (line: string, n: number): string => line.trim().replace(new RegExp(`^(\\S+\\s+){${n}}`), '');

const refused = (n: number) => (n ? `; refused ${n} forged or malformed repl${n === 1 ? 'y' : 'ies'}` : '');

function need(args: string[], n: number, usage: string): void {
  if (args.length < n) throw dhtError('CHS_ERR_DHT_ARGUMENT', `usage: ${usage}`);
}

export async function runDhtCommand(svc: DhtService, save: () => Promise<string>, line: string): Promise<string> {
  const [verb = '', ...args] = line.trim().split(/\s+/);
  switch (verb) {
    case 'bootstrap': {
      const r = await svc.bootstrap(args.length ? args : undefined);
      return `bootstrap: ${r.responded} responded; table has ${r.nodes} nodes (${r.queries} queries, ${ms(r.ms)})\n`;
    }
    case 'put': {
      need(args, 2, 'put SALT VALUE');
      const salt = parseBytes(args[0]!, 'salt');
      const value = parseValue(rest(line, 2));
      const r = await svc.put(salt, value);
      return `put target ${r.target} seq ${r.seq}: stored on ${r.stored} nodes (${r.queries} queries, ${ms(r.ms)})\n`;
    }
    case 'get': {
      need(args, 1, 'get PUBKEY|self [SALT]');
      if (args.length > 2) throw dhtError('CHS_ERR_DHT_ARGUMENT', 'usage: get PUBKEY|self [SALT] (a salt is one word: write one with spaces as hex:…)');
      const key = args[0] === 'self' ? svc.publicKey() : args[0]!;
      const r = await svc.get(key, args[1] === undefined ? '' : parseBytes(args[1], 'salt'));
      const how = `${r.queries} queries, ${ms(r.ms)}${refused(r.refused)}`;
      if (!r.item) return `get target ${r.target}: not found (${how})\n`;
      return `get target ${r.target}: seq ${r.item.seq} from ${r.item.from} (${how})\n${showValue(r.item)}\n`;
    }
    case 'put-immutable': {
      need(args, 1, 'put-immutable VALUE');
      const r = await svc.putImmutable(parseValue(rest(line, 1)));
      return `put-immutable target ${r.target}: stored on ${r.stored} nodes (${r.queries} queries, ${ms(r.ms)})\n`;
    }
    case 'get-immutable': {
      need(args, 1, 'get-immutable TARGET');
      const r = await svc.getImmutable(args[0]!);
      const how = `${r.queries} queries, ${ms(r.ms)}${refused(r.refused)}`;
      if (!r.item) return `get-immutable target ${r.target}: not found (${how})\n`;
      return `get-immutable target ${r.target}: from ${r.item.from} (${how})\n${showValue(r.item)}\n`;
    }
    case 'announce': {
      need(args, 1, 'announce INFOHASH [PORT]');
      parseInfohash(args[0]!);
      const port = args[1] === undefined ? 0 : Number(args[1]);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw dhtError('CHS_ERR_DHT_ARGUMENT', `"${args[1]}" is not a port`);
      const r = await svc.announce(args[0]!, port);
      return `announce ${r.infohash}: ${r.stored} nodes took it (${r.queries} queries, ${ms(r.ms)})\n`;
    }
    case 'lookup': {
      need(args, 1, 'lookup INFOHASH');
      const r = await svc.lookup(args[0]!);
      const peers = r.peers.map((p) => `${p.host}:${p.port}`);
      return `lookup ${r.infohash}: ${peers.length} peers from ${r.responded} nodes (${r.queries} queries, ${ms(r.ms)})\n${peers.map((p) => `${p}\n`).join('')}`;
    }
    case 'export': {
      need(args, 2, 'export PATH HOST:PORT [ANAME]');
      const r = await svc.announceExport(args[0]!, { address: args[1]!, ...(args[2] ? { aname: args[2] } : {}) });
      return `export ${r.path}: infohash ${r.infohash} seq ${r.seq}, announced to ${r.announcedTo} nodes, stored on ${r.storedOn}\n`;
    }
    case 'withdraw': {
      need(args, 1, 'withdraw PATH');
      return (await svc.withdrawExport(args[0]!)) ? `withdrew ${args[0]}\n` : `${args[0]} was not exported\n`;
    }
    case 'find': {
      need(args, 1, 'find PATH');
      const found = await svc.findExports(args[0]!);
      if (!found.length) return `find ${args[0]}: not found\n`;
      return `find ${args[0]}: ${found.length} export${found.length === 1 ? '' : 's'}\n` + found.map((f) =>
        `${f.address}${f.aname ? ` aname=${f.aname}` : ''} node=${f.node ?? '?'} key=${f.publicKey} seq=${f.seq}${f.self ? ' (self)' : ''}\n`).join('');
    }
    case 'save':
      return await save();
  }
  throw dhtError('CHS_ERR_DHT_ARGUMENT', `unknown command "${verb}": ${USAGE}`);
}
