// /seed in the node's 9P tree: nodes, routes, directory.json, recent events, and ctl
// (`publish build N`, `reload M on R`).
import { dir, file, ctl } from 'cheshire/sdk';
import type { Hub, EventRecord } from './hub.ts';

export const CTL_USAGE = `commands (one per line):
  publish build N     push "app build N published" to every node (fileservers invalidate)
  reload M on R       reload module M on every node of role R (R = * for all); answers per node
`;

const iso = (ms: number) => new Date(ms).toISOString();

function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

export function formatNodes(hub: Hub): string {
  const d = hub.directory.snapshot();
  return table([
    ['NODE', 'ROLE', 'HTTP', '9P', 'KEY', 'SINCE', 'MODULES'],
    ...d.nodes.map((n) => [n.node, n.role, n.http ?? '-', n.ninep ?? '-', n.id.slice(0, 16), iso(n.since), n.modules.join(',')]),
  ]);
}

export function formatRoutes(hub: Hub): string {
  const d = hub.directory.snapshot();
  return d.routes.map((r) => `${r.host} ${r.prefix} -> ${r.nodes.map((n) => `${n.node}=${n.http}`).join(' ')}\n`).join('');
}

export function formatEvent(rec: EventRecord): string {
  const what = rec.event.type === 'build' ? `publish build ${rec.event.build}` : `reload ${rec.event.module} on ${rec.event.role}`;
  const outcome = rec.event.type === 'build'
    ? `sent to ${rec.sentTo.length} node(s)${rec.sentTo.length ? ': ' + rec.sentTo.join(' ') : ''}`
    : rec.sentTo.length === 0
      ? 'no node of that role runs it'
      : rec.results.map((r) => `${r.node} ${r.ok ? 'ok' : `failed: ${r.error ?? 'unknown error'}`}`).join(', ');
  return `#${rec.seq} ${iso(rec.at)} ${what}: ${outcome}\n`;
}

/** Parses and runs one ctl command; returns the answer line. */
export async function runCommand(hub: Hub, command: string): Promise<string> {
  let m = /^publish\s+(?:build\s+)?(\d+)$/.exec(command);
  if (m) return formatEvent(hub.publish(Number(m[1])));
  m = /^reload\s+(\S+)(?:\s+on\s+(\S+))?$/.exec(command);
  if (m) return formatEvent(await hub.reload(m[1]!, m[2] ?? '*'));
  throw new Error(`CHS_ERR_SEED_COMMAND: unknown command "${command}"; ${CTL_USAGE.trim().replace(/\n\s*/g, '; ')}`);
}

export function seedTree(hub: Hub) {
  return dir('seed', [
    file('nodes', { read: () => formatNodes(hub) }),
    file('routes', { read: () => formatRoutes(hub) }),
    file('directory.json', { read: () => JSON.stringify(hub.directory.snapshot(), null, 2) + '\n' }),
    file('events', { read: () => hub.events.map(formatEvent).join('') }),
    ctl('ctl', (command) => runCommand(hub, command), { read: () => `build ${hub.build ?? 'none'}\n${CTL_USAGE}` }),
  ]);
}
