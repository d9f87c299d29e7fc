// Installs a module's dependencies into its own node_modules with the host's npm:
// `npm install --omit=dev --ignore-scripts --no-audit --no-fund` in the module folder. A package
// without dependencies needs no npm at all (and so installs offline).
import { spawn } from 'node:child_process';
import { chsError } from '../errors.ts';

export interface DepsOptions {
  signal?: AbortSignal;
  cache?: string;
  registry?: string;
  /** npm --offline: only what npm's cache (or local tarballs) holds. */
  offline?: boolean;
}

/** Whether npm has anything to install for this package.json. */
export function needsNpm(pkg: Record<string, unknown>): boolean {
  const some = (k: string) => Object.keys((pkg[k] as Record<string, string> | undefined) ?? {}).length > 0;
  return some('dependencies') || some('optionalDependencies') || some('peerDependencies');
}

/** The npm to spawn: the one running us (`npm_execpath`, when it is npm's CLI), else `npm` on PATH. */
export function npmCommand(): { cmd: string; args: string[] } {
  const exec = process.env.npm_execpath;
  if (exec && /(^|[/\\])npm-cli\.js$/.test(exec)) return { cmd: process.execPath, args: [exec] };
  return { cmd: 'npm', args: [] };
}

// What npm sets for the scripts it runs: they would point the child npm at the host's project.
const PARENT_NPM_ENV = /^npm_(package_|lifecycle_|command$|execpath$|node_execpath$|config_(local_prefix|prefix|global_prefix|call|user_agent|npm_version)$)/i;

export async function installDeps(dir: string, o: DepsOptions = {}): Promise<void> {
  const { cmd, args } = npmCommand();
  const argv = [...args, 'install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'];
  if (o.offline) argv.push('--offline');
  if (o.cache) argv.push('--cache', o.cache);
  if (o.registry) argv.push('--registry', o.registry);
  const env: NodeJS.ProcessEnv = { npm_config_update_notifier: 'false' };
  for (const [k, v] of Object.entries(process.env)) if (!PARENT_NPM_ENV.test(k)) env[k] = v;
  o.signal?.throwIfAborted();
  const child = spawn(cmd, argv, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer) => { tail = (tail + d.toString('utf8')).slice(-4000); };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const kill = () => { child.kill('SIGTERM'); setTimeout(() => child.kill('SIGKILL'), 2000).unref(); };
  o.signal?.addEventListener('abort', kill, { once: true });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (c) => resolve(c));
    });
    o.signal?.throwIfAborted();
    if (code !== 0) throw chsError('CHS_ERR_INSTALL_DEPS', `npm install in ${dir} exited with ${code}:\n${tail.trim()}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw chsError('CHS_ERR_INSTALL_DEPS', `npm was not found (${cmd}); it installs the module's dependencies`, err);
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', kill);
  }
}
