// The commands the ctl files take: `reload M`, `stop M`, `start M`, `test M` on /ctl, the same
// without M (plus `revert REV` and `rollback [REV]`) on /modules/M/ctl. A command's answer is read back from the fid.
import type { HostControl } from 'cheshire/sdk';

const USAGE = 'commands: reload M | stop M | start M | test M';

/**
 * `me` is styx-root's own instance id: reloading or stopping it replaces the very file the answer
 * would be read from, so that one is answered at once and carried out just after.
 */
export async function runCommand(host: HostControl, me: string, line: string, self?: string): Promise<string> {
  const [verb, ...args] = line.split(/\s+/);
  const id = self ?? args.shift();
  if (!verb || !id) throw new Error(`missing module: ${USAGE}`);
  if (id === me && (verb === 'reload' || verb === 'stop')) {
    if (!host.status().instances.some((i) => i.id === me)) throw new Error(`no instance "${me}"`);
    setImmediate(() => {
      (verb === 'reload' ? host.reload(me) : host.stop(me)).catch(() => undefined); // the host logs the outcome
    });
    return `${verb === 'reload' ? 'reloading' : 'stopping'} ${me}: this tree is replaced; walk again from the root\n`;
  }
  switch (verb) {
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
    case 'revert': {
      if (!self) break;
      const rev = Number(args[0] ?? id);
      if (!Number.isInteger(rev)) throw new Error('usage: revert REV');
      const r = await host.revert(self, rev);
      return `config of ${self} is revision ${r.rev} (reverted to ${rev})\n`;
    }
  }
  throw new Error(`unknown command "${verb}": ${self ? 'reload | stop | start | test | revert REV | rollback [REV]' : USAGE}`);
}
