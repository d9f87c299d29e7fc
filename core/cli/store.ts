// `cheshire install | uninstall | installed`: the node's module store (<stateDir>/modules-store),
// on this machine, beside the node. The running node finds an installed module on `cheshire
// enable NAME`; `uninstall` refuses a version that an instance of the node still runs.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadNodeConfig } from '../config/node-config.ts';
import { installCommand } from '../install/command.ts';
import { installModule } from '../install/install.ts';
import { progressPrinter } from '../install/progress.ts';
import { listInstalled, moduleStoreDir } from '../install/store.ts';
import { uninstallModule } from '../install/uninstall.ts';
import { readStatus } from '../status-file.ts';
import { connectNode } from './node-client.ts';

async function storeOf(configFile: string): Promise<{ storeDir: string; stateDir: string }> {
  const config = await loadNodeConfig(configFile);
  const stateDir = resolve(dirname(configFile), config.stateDir);
  return { storeDir: moduleStoreDir(stateDir), stateDir };
}

/**
 * Folders the node runs code from: asked of the node itself over 9P (each /modules/M/status
 * names its dir and state); when no node answers, its last mirrored status if its process lives.
 */
async function runningDirs(stateDir: string, node: string, secret?: string): Promise<Set<string>> {
  let client;
  try {
    client = await connectNode(node, { secret });
  } catch (err) {
    if ((err as { code?: string }).code !== 'CHS_ERR_NODE_UNREACHABLE') throw err;
    return mirroredRunningDirs(stateDir);
  }
  try {
    const dirs = new Set<string>();
    for (const e of await client.ls('/modules')) {
      const text = (await client.readFile(`/modules/${e.name}/status`)).toString('utf8');
      const dir = /^dir: (.*)$/m.exec(text)?.[1];
      const state = /^state: (\S+)/m.exec(text)?.[1];
      if (dir && state !== 'stopped' && state !== 'failed') dirs.add(dir);
    }
    return dirs;
  } finally {
    await client.close();
  }
}

async function mirroredRunningDirs(stateDir: string): Promise<Set<string>> {
  const file = join(stateDir, 'status.json');
  if (!existsSync(file)) return new Set();
  const st = await readStatus(file);
  try {
    process.kill(st.pid, 0);
  } catch {
    return new Set(); // the node is gone: nothing runs
  }
  return new Set(st.instances.filter((i) => i.state !== 'stopped' && i.state !== 'failed').map((i) => i.dir));
}

export async function storeCommand(cmd: 'install' | 'uninstall' | 'installed', args: string[], opts: { configFile: string; node: string; secret?: string }): Promise<number> {
  const { storeDir, stateDir } = await storeOf(opts.configFile);
  if (cmd === 'install') {
    const ac = new AbortController();
    const onInt = () => ac.abort(new Error('interrupted (Ctrl-C): nothing was installed'));
    process.once('SIGINT', onInt);
    try {
      return await installCommand(args, { storeDir, signal: ac.signal, secret: opts.secret });
    } finally {
      process.off('SIGINT', onInt);
    }
  }
  if (cmd === 'installed') {
    for (const m of await listInstalled(storeDir)) process.stdout.write(`${m.name}@${m.version}  ${m.integrity}  ${m.dir}\n`);
    return 0;
  }
  const spec = args[0];
  if (!spec || args.length > 1) throw new Error('usage: cheshire uninstall NAME[@VERSION]');
  const at = spec.lastIndexOf('@');
  const [name, version] = at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [spec, undefined];
  const inUse = await runningDirs(stateDir, opts.node, opts.secret);
  const removed = await uninstallModule(storeDir, name, version, (dir) => inUse.has(dir));
  for (const m of removed) process.stdout.write(`uninstalled ${m.name}@${m.version}\n`);
  return 0;
}

/**
 * `enable M#I --from DIR|SPEC`: a folder is used as it is (absolute, for the node on this
 * machine); anything else is a SPEC installed into the node's store first.
 */
export async function fromFolder(from: string, opts: { configFile: string; secret?: string }): Promise<string> {
  const dir = resolve(from);
  if (existsSync(join(dir, 'package.json'))) return dir;
  const { storeDir } = await storeOf(opts.configFile);
  const progress = progressPrinter(process.stderr);
  try {
    const r = await installModule(from, { storeDir, secret: opts.secret, onProgress: progress, force: false });
    process.stderr.write(`installed ${r.name}@${r.version} in ${r.dir}\n`);
    return r.dir;
  } finally {
    progress.end();
  }
}
