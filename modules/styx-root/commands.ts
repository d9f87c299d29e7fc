// The commands the ctl files take: `reload M`, `stop M`, `start M`, `test M` on /ctl, the same
// without M (plus `revert REV` and `rollback [REV]`) on /modules/M/ctl. A command's answer is read back from the fid.
import type { HostControl } from 'cheshire/sdk';

const USAGE = 'commands: shutdown | reload M | stop M | start M | test M | enable M[#instance] [from=DIR] [JSON] | disable M | promote M#instance | install SPEC | uninstall NAME[@VERSION]';

/**
 * `me` is styx-root's own instance id: reloading or stopping it replaces the very file the answer
 * would be read from, so that one is answered at once and carried out just after.
 */
export async function runCommand(host: HostControl, me: string, line: string, self?: string): Promise<string> {
  const [verb, ...args] = line.split(/\s+/);
  if (verb === 'shutdown' && !self) {
    const st = host.status();
    host.shutdown(`"shutdown" written to /ctl`);
    return `stopping node ${st.node} (pid ${st.pid})\n`;
  }
  const id = self ?? args.shift();
  if (!verb || !id) throw new Error(`missing module: ${USAGE}`);
  if (id === me && (verb === 'reload' || verb === 'stop' || verb === 'disable')) {
    if (!host.status().instances.some((i) => i.id === me)) throw new Error(`no instance "${me}"`);
    setImmediate(() => {
      const act = verb === 'reload' ? host.reload(me) : verb === 'stop' ? host.stop(me) : host.disable(me);
      act.catch(() => undefined); // the host logs the outcome
    });
    return `${verb === 'reload' ? 'reloading' : verb === 'stop' ? 'stopping' : 'disabling'} ${me}: this tree is replaced; walk again from the root\n`;
  }
  switch (verb) {
    case 'install': {
      // `install SPEC`: the SPEC is what stands where a module name would (id).
      const r = await host.install(id);
      return `installed ${r.name}@${r.version} in ${r.dir} (${r.integrity}); enable it with: enable ${r.name}\n`;
    }
    case 'uninstall': {
      const gone = await host.uninstall(id);
      return gone.map((m) => `uninstalled ${m.name}@${m.version}\n`).join('');
    }
    case 'enable': {
      // `enable M[#i] [from=DIR] [{"port": 8085}]`: DIR a folder the instance runs from (beside the
      // live module), the JSON its config section.
      const from = args[0]?.startsWith('from=') ? args.shift()!.slice(5) : undefined;
      const json = args.join(' ').trim();
      let config: Record<string, unknown> | undefined;
      if (json) {
        try {
          config = JSON.parse(json) as Record<string, unknown>;
        } catch {
          throw new Error(`enable ${id}: the config after the name must be one JSON object, got ${JSON.stringify(json.slice(0, 80))}`);
        }
        if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new Error(`enable ${id}: the config must be a JSON object`);
      }
      const added = await host.enable(id, config, from);
      const st = host.status().instances.find((i) => i.id === id.replace(/@[^#]*/, ''));
      return `enabled ${id}${added.length > 1 ? ` (with ${added.filter((a) => a !== id).join(', ')})` : ''}: ${st?.state ?? '?'}\n`;
    }
    case 'promote': {
      const e = await host.promote(id);
      return `promoted ${id}: ${id.split('#')[0]} runs its code (rev ${e.rev}, v${e.version}, ${e.contentId.slice(0, 12)}); ${id} removed\n`;
    }
    case 'disable':
      await host.disable(id);
      return `disabled ${id}: stopped, and kept stopped across restarts\n`;
    case 'reload':
      await host.reload(id);
      return `reloaded ${id}\n`;
    case 'stop':
      await host.stop(id);
      return `stopped ${id}\n`;
    case 'start':
      await host.start(id);
      return `started ${id}: ${host.status().instances.find((i) => i.id === id)?.state ?? '?'}\n`;
    case 'test': {
      const r = await host.test(id);
      if (!r.files.length) return `NO TESTS ${id}: its descriptor lists no test files (package.json "cheshire": { "test": { "files": [...] } })\n`;
      return `${r.ok ? 'PASS' : 'FAIL'} ${id} (${r.files.length} file${r.files.length === 1 ? '' : 's'})\n${r.output}${r.output.endsWith('\n') ? '' : '\n'}`;
    }
    case 'rollback': {
      if (!self) break;
      const arg = args[0] ?? (id === self ? undefined : id);
      const rev = arg === undefined ? undefined : Number(arg);
      if (rev !== undefined && !Number.isInteger(rev)) throw new Error('usage: rollback [REV]');
      const e = await host.rollback(self, rev);
      return `${self} runs rev ${e.rev} again (v${e.version}, ${e.contentId.slice(0, 12)}, recorded ${e.at})\n`;
    }
    case 'pin':
    case 'unpin': {
      if (!self) break;
      const rev = Number(args[0] ?? id);
      if (!Number.isInteger(rev)) throw new Error(`usage: ${verb} REV`);
      const pins = await host.pinRevision(self, rev, verb === 'pin');
      return `${verb === 'pin' ? 'pinned' : 'unpinned'} revision ${rev} of ${self}; pinned: ${pins.join(', ') || 'none'}\n`;
    }
    case 'revert': {
      if (!self) break;
      const rev = Number(args[0] ?? id);
      if (!Number.isInteger(rev)) throw new Error('usage: revert REV');
      const r = await host.revert(self, rev);
      return `config of ${self} is revision ${r.rev} (reverted to ${rev})\n`;
    }
  }
  throw new Error(`unknown command "${verb}": ${self ? 'reload | stop | start | test | revert REV | pin REV | unpin REV | rollback [REV]' : USAGE}`);
}
