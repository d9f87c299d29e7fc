// The /fileserver subtree of the node's 9P tree:
//   ctl       commands, one per line (a read after a write shows the answer):
//               invalidate                              re-read the app assets
//               token [maxBytes=N] [ttl=SECONDS] [uses=N]  issue an upload token
//               revoke <token>
//               publish <version> <path>=<sha256>...    record a version manifest
//               unpublish <version>
//               vhost <host> <key> <sha256>             map Host + path key to an object (config)
//               unvhost <host> [key]
//   status    JSON counters (requests, fast lane, uploads, caches)
//   vhosts    JSON: host -> { key: sha256 }
//   versions  JSON: version -> { path: sha256 }
//   assets    one line per asset: sha256 size path
import { ctl, dir, file } from 'cheshire/sdk';
import type { FileserverService } from './service.ts';

const USAGE = `commands: invalidate | token [maxBytes=N] [ttl=SECONDS] [uses=N] | revoke <token> |
  publish <version> <path>=<sha256>... | unpublish <version> | vhost <host> <key> <sha256> | unvhost <host> [key]
`;

function kv(args: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of args) {
    const m = /^(maxBytes|ttl|uses)=(\d+)$/.exec(a);
    if (!m) throw new Error(`bad argument ${JSON.stringify(a)} (expected maxBytes=N, ttl=SECONDS, uses=N)`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

export function buildTree(name: string, svc: FileserverService) {
  const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
  return dir(name, [
    ctl('ctl', async (line) => {
      const [cmd, ...args] = line.split(/\s+/);
      switch (cmd) {
        case 'invalidate': {
          const r = await svc.invalidate();
          return `assets generation ${r.generation}: ${r.files} files, ${r.bytes} bytes\n`;
        }
        case 'token': {
          const o = kv(args);
          const t = svc.issueToken({ maxBytes: o.maxBytes, ttlMs: o.ttl === undefined ? undefined : o.ttl * 1000, uses: o.uses });
          return `${t.token} expires=${new Date(t.expiresAt).toISOString()} uses=${t.uses} maxBytes=${t.maxBytes}\n`;
        }
        case 'revoke':
          if (args.length !== 1) throw new Error('usage: revoke <token>');
          if (!svc.revokeToken(args[0]!)) throw new Error('no such token');
          return;
        case 'publish': {
          const [version, ...pairs] = args;
          if (!version || pairs.length === 0) throw new Error('usage: publish <version> <path>=<sha256>...');
          const files: Record<string, string> = {};
          for (const p of pairs) {
            const eq = p.lastIndexOf('=');
            if (eq <= 0) throw new Error(`bad pair ${JSON.stringify(p)} (expected path=sha256)`);
            files[p.slice(0, eq)] = p.slice(eq + 1);
          }
          await svc.publish(version, files);
          return `published ${version}: ${pairs.length} files\n`;
        }
        case 'unpublish':
          if (args.length !== 1) throw new Error('usage: unpublish <version>');
          if (!(await svc.unpublish(args[0]!))) throw new Error(`no version ${args[0]}`);
          return;
        case 'vhost':
          if (args.length !== 3) throw new Error('usage: vhost <host> <key> <sha256>');
          await svc.setVhost(args[0]!, args[1]!, args[2]!);
          return;
        case 'unvhost':
          if (args.length < 1 || args.length > 2) throw new Error('usage: unvhost <host> [key]');
          await svc.removeVhost(args[0]!, args[1]);
          return;
        default:
          throw new Error(`unknown command ${JSON.stringify(cmd)}; ${USAGE}`);
      }
    }, { read: () => USAGE }),
    file('status', { read: () => json(svc.stats()) }),
    file('vhosts', { read: () => json(svc.vhosts()) }),
    file('versions', { read: () => json(svc.versions()) }),
    file('assets', { read: () => svc.assetList().map((a) => `${a.sha256} ${a.size} ${a.path}\n`).join('') }),
  ]);
}
