// Human-readable renderings for the CLI: a module descriptor and a node's status table.
import type { NodeStatus } from '../host.ts';
import type { Descriptor } from '../types.ts';

export function formatDescriptor(m: Descriptor, where: string): string {
  const lines = [`${m.name}@${m.version}  (${where})`];
  if (m.description) lines.push(`  ${m.description}`);
  lines.push(`  provides: ${m.provides.join(', ') || '-'}`);
  lines.push(`  requires: ${m.requires.map((r) => `${r.service}@${r.range} ${r.policy} ${r.cardinality}${r.as !== r.service ? ` as ${r.as}` : ''}`).join(', ') || '-'}`);
  lines.push(`  config:   ${JSON.stringify(m.configDefaults)}`);
  lines.push(`  entry:    ${m.entry}   watch: ${m.watch.join(' ')}`);
  lines.push(`  tests:    ${m.test.files.join(' ') || '-'}${m.test.beforeActivate ? ' (before activation)' : ''}`);
  return lines.join('\n') + '\n';
}

function uptime(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export function formatStatus(st: NodeStatus, running: boolean): string {
  const out = [`node ${st.node}  role ${st.role}  pid ${st.pid} ${running ? 'running' : 'NOT RUNNING'}`];
  if (st.failsafe) out.push(`FAILSAFE MODE: ${st.failsafe.message}\n${st.failsafe.stack.replace(/^/gm, '    ')}`);
  if (st.configError) out.push(`config change refused: ${st.configError.message}`);
  const rows = st.instances.map((i) => [
    i.id,
    `${i.version}${i.hash ? '#' + i.hash : ''}`,
    i.state + (i.waitingFor.length ? ` (for ${i.waitingFor.join(', ')})` : ''),
    uptime(i.uptimeMs),
    String(i.restarts),
    String(i.reloads),
    i.state === 'active' && i.health ? (i.health.ok ? 'ok' : 'FAIL') : '-',
    i.lastError ? `${i.lastError.current === false ? `(recovered) ${i.lastError.at.slice(11, 19)} ` : ''}${i.lastError.message.split('\n')[0]!.slice(0, 80)}` : '',
  ]);
  const head = ['INSTANCE', 'VERSION', 'STATE', 'UPTIME', 'RESTARTS', 'RELOADS', 'HEALTH', 'LAST ERROR'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  for (const r of [head, ...rows]) out.push(r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd());
  return out.join('\n');
}
