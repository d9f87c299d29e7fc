// `cheshire start`: takes the node lock of the state directory (a second start in the same
// folder is refused before anything is touched), runs the host, mirrors its status, and stops it
// cleanly on SIGINT/SIGTERM, on `cheshire stop` (the `shutdown` command on /ctl), and when the
// npm/npx process that launched it goes away (npm does not always pass its signals on).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Host } from '../host.ts';
import { chsError } from '../errors.ts';
import { knownRoles } from '../config/node-config.ts';
import { acquireNodeLock } from '../node-lock.ts';
import { mirrorStatus } from '../status-file.ts';

/** How often the launcher's presence is checked (launched through npm / npx only). */
const PARENT_POLL_MS = 500;

export async function startNode(configFile: string, role: string | undefined): Promise<void> {
  // A --role typo is a command-line mistake: said at once, with the roles there are, not failsafe.
  if (role !== undefined) {
    const known = knownRoles(dirname(configFile));
    if (!known.includes(role)) throw chsError('CHS_ERR_ROLE_NOT_FOUND', `--role ${role}: no such role; the roles are: ${known.join(', ') || '(none)'}`);
  }
  const lock = acquireNodeLock(resolve(dirname(configFile), stateDirOf(configFile)), configFile);
  const host = new Host({ configFile, role });
  const stopMirror = mirrorStatus(host);
  let stopping = false;
  let parentTimer: NodeJS.Timeout | null = null;
  const shutdown = async (why: string) => {
    if (stopping) return;
    stopping = true;
    if (parentTimer) clearInterval(parentTimer);
    host.log.info(`${why}: stopping`);
    try {
      await host.close();
      await stopMirror();
    } finally {
      lock.release();
      process.exit(0);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
  host.on('shutdown', (reason) => void shutdown(reason));
  if (process.env.npm_command || process.env.npm_lifecycle_event) {
    const parent = process.ppid;
    parentTimer = setInterval(() => {
      if (process.ppid !== parent) void shutdown(`the launching process (pid ${parent}) is gone`);
    }, PARENT_POLL_MS);
    parentTimer.unref();
  }
  await host.start();
}

/** The config's stateDir, read leniently: a config too broken to say still gets the default (the host then runs failsafe). */
function stateDirOf(configFile: string): string {
  try {
    const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { stateDir?: unknown };
    return typeof raw.stateDir === 'string' && raw.stateDir ? raw.stateDir : '.cheshire';
  } catch {
    return '.cheshire';
  }
}
