// The text the control files show: /status, /modules/M/status, deps, revisions and history.
import { diffJson, formatDiff, type HistoryEntry, type InstanceStatus, type NodeStatus, type Revision } from 'cheshire/sdk';

export function uptime(ms: number | null): string {
  if (ms === null) return '-';
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** One header line, a failsafe/config error if any, then one line per instance. */
export function nodeStatusText(st: NodeStatus): string {
  const out = [`node ${st.node} role ${st.role} pid ${st.pid} instances ${st.instances.length} key ${st.publicKey ?? '-'}`];
  if (st.failsafe) out.push(`FAILSAFE ${withCode(st.failsafe)}`);
  if (st.configError) out.push(`CONFIG-REFUSED ${st.configError.message.split('\n')[0]}`);
  for (const i of st.instances) {
    const state = i.state + (i.waitingFor.length ? `(${i.waitingFor.join(',')})` : '');
    const err = i.lastError ? `  ${i.lastError.current === false ? `recovered from an error at ${i.lastError.at}:` : 'error'} ${i.lastError.message.split('\n')[0]!.slice(0, 120)}` : '';
    // A failing check of a running instance; a state other than active says enough on its own.
    const health = i.state === 'active' && i.health && !i.health.ok ? ` health FAIL ${i.health.error?.split('\n')[0]!.slice(0, 120) ?? ''}` : '';
    out.push(`${i.id} ${state} ${i.version}#${i.hash ?? '-'} up ${uptime(i.uptimeMs)} restarts ${i.restarts} reloads ${i.reloads}${health}${err}`);
  }
  return out.join('\n') + '\n';
}

/** `CODE: message` (first line), the code once even when the message already starts with it. */
function withCode(e: { code: string; message: string }): string {
  const first = e.message.split('\n')[0]!;
  return first.startsWith(`${e.code}:`) ? first : `${e.code}: ${first}`;
}

export function instanceStatusText(i: InstanceStatus): string {
  const lines = [
    `id: ${i.id}`,
    `module: ${i.module}`,
    `version: ${i.version}`,
    `dir: ${i.dir}`,
    `hash: ${i.hash ?? '-'}`,
    `state: ${i.state}${i.disabled ? ' (disabled)' : ''}`,
    `waiting-for: ${i.waitingFor.join(', ') || '-'}`,
    `uptime: ${uptime(i.uptimeMs)}`,
    `restarts: ${i.restarts}`,
    `reloads: ${i.reloads}`,
    `last-error: ${i.lastError ? `${i.lastError.code} at ${i.lastError.at}${i.lastError.current === false ? ' (recovered since)' : ' (current)'}` : '-'}`,
    `health: ${i.health ? `${i.health.ok ? 'ok' : 'FAIL'} at ${i.health.at} (${i.health.ms} ms)${i.health.error ? ` ${i.health.error}` : ''}` : '-'}`,
  ];
  if (i.lastError) lines.push('', i.lastError.stack);
  return lines.join('\n') + '\n';
}

export function depsText(i: InstanceStatus, all: InstanceStatus[]): string {
  const state = (id: string) => all.find((x) => x.id === id)?.state ?? 'absent';
  const lines = i.requires.map((r) => {
    const bound = r.boundTo.length ? r.boundTo.map((id) => `${id} (${state(id)})`).join(', ') : 'nothing';
    return `requires ${r.service}@${r.range} ${r.policy} ${r.cardinality} as ${r.as} -> ${bound}`;
  });
  for (const s of i.provides) lines.push(`provides ${s}`);
  const users = all.filter((x) => x.requires.some((r) => r.boundTo.includes(i.id))).map((x) => x.id);
  lines.push(`used-by ${users.join(', ') || '-'}`);
  return lines.join('\n') + '\n';
}

/** `rev at source` and what changed from the revision before. */
export function revisionsText(revs: Revision[]): string {
  const out: string[] = [];
  revs.forEach((r, n) => {
    out.push(`${r.rev} ${r.at} ${r.source}${r.note ? ` ${r.note}` : ''}${r.pinned ? ' pinned' : ''}`);
    const diff = n === 0 ? '' : formatDiff(diffJson(revs[n - 1]!.config, r.config));
    if (diff) out.push(diff.replace(/^/gm, '    '));
  });
  return out.join('\n') + (out.length ? '\n' : '');
}

/** `rev at source outcome vVERSION content bundle`, one version per line, the running one marked. */
export function historyText(entries: HistoryEntry[]): string {
  const current = entries.filter((e) => e.outcome === 'active').at(-1);
  return entries
    .map((e) => {
      const mark = e === current ? ' *' : '';
      const err = e.error ? `  ${e.error.split('\n')[0]!.slice(0, 160)}` : '';
      return `${e.rev} ${e.at} ${e.source} ${e.outcome} v${e.version} ${e.contentId.slice(0, 12)} #${e.bundleHash ?? '-'}${mark}${err}\n`;
    })
    .join('');
}
