// Mirrors the host's status into <stateDir>/status.json (atomically, coalesced) so that
// `cheshire status` can show a running node — in failsafe mode too — without talking to it.
import { join, resolve } from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from './config/atomic.ts';
import type { Host, NodeStatus } from './host.ts';

export function statusFilePath(host: Host): string {
  return join(resolve(host.base, host.config?.stateDir ?? '.cheshire'), 'status.json');
}

export function mirrorStatus(host: Host): () => Promise<void> {
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> = Promise.resolve();
  const write = () => {
    timer = null;
    const file = statusFilePath(host);
    const body = JSON.stringify({ ...host.status(), updatedAt: new Date().toISOString() }, null, 2);
    writing = writing
      .then(() => mkdir(resolve(file, '..'), { recursive: true }))
      .then(() => writeFileAtomic(file, body))
      .catch((err: unknown) => host.log.warn(`cannot write ${file}: ${(err as Error).message}`));
  };
  const onStatus = () => { timer ??= setTimeout(write, 25); };
  host.on('status', onStatus);
  onStatus();
  return async () => {
    host.off('status', onStatus);
    if (timer) { clearTimeout(timer); write(); }
    await writing;
  };
}

export async function readStatus(file: string): Promise<NodeStatus & { updatedAt: string }> {
  return JSON.parse(await readFile(file, 'utf8')) as NodeStatus & { updatedAt: string };
}
