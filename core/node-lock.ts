// One node per state directory: `cheshire start` takes <stateDir>/node.lock (created exclusively,
// holding the pid) before it touches anything, so a second start in the same folder is refused up
// front instead of crash-looping its modules on taken ports and overwriting status.json. A lock
// whose process is gone (kill -9, power loss) is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { chsError } from './errors.ts';
import { pidAlive } from '../base/pid.ts';

export interface NodeLock {
  readonly file: string;
  /** Removes the lock if it is still ours. Idempotent; also runs at process exit. */
  release(): void;
}

interface LockBody {
  pid: number;
  startedAt: string;
  configFile: string;
}

export function lockFile(stateDir: string): string {
  return join(stateDir, 'node.lock');
}

/** Takes the node lock of `stateDir`, or throws CHS_ERR_ALREADY_RUNNING naming the running node. */
export function acquireNodeLock(stateDir: string, configFile: string): NodeLock {
  mkdirSync(stateDir, { recursive: true });
  const file = lockFile(stateDir);
  const body: LockBody = { pid: process.pid, startedAt: new Date().toISOString(), configFile };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const holder = readLock(file);
      if (holder && holder.pid !== process.pid && pidAlive(holder.pid)) {
        throw chsError('CHS_ERR_ALREADY_RUNNING', `already running (pid ${holder.pid}${describeNode(stateDir)}, since ${holder.startedAt}); stop it first: cheshire stop`);
      }
      // Stale (its process is gone) or unreadable (a crash between create and write): take over.
      try { unlinkSync(file); } catch { /* another starter took it first; the next open says */ }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(body) + '\n');
    } finally {
      closeSync(fd);
    }
    break;
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    if (readLock(file)?.pid === process.pid) {
      try { unlinkSync(file); } catch { /* already gone */ }
    }
  };
  process.on('exit', release);
  return { file, release };
}

function readLock(file: string): LockBody | null {
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockBody>;
    return typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0 ? (v as LockBody) : null;
  } catch {
    return null;
  }
}


/** `, 9P on 127.0.0.1:6666` from the running node's status.json, when it says. */
function describeNode(stateDir: string): string {
  try {
    const st = JSON.parse(readFileSync(join(stateDir, 'status.json'), 'utf8')) as { node?: string; instances?: Array<{ module?: string; config?: { listen?: string } }> };
    const listen = st.instances?.find((i) => i.module === 'styx-root')?.config?.listen;
    return `${st.node ? `, node ${st.node}` : ''}${listen ? `, 9P on ${listen}` : ''}`;
  } catch {
    return '';
  }
}
