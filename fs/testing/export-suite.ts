// The scaffolding the export suites share (fs/tree/export.test.ts, export-confinement.test.ts):
// a temp base folder, one NineServer on a loopback port serving whatever trees the suite sets
// (by aname), the clients a test opened closed after it, and on the way out the trees disposed,
// the server closed and the folder removed. Hooks only clean up: uvu loses a failing test's
// report when an after.each hook throws too.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'uvu';
import type { Client } from '../client/client.ts';
import type { NineServer } from '../server/server.ts';
import type { ExportNode } from '../tree/export.ts';
import type { Node } from '../tree/types.ts';
import { serveTrees } from './serve-trees.ts';

export interface ExportSuite {
  /** The temp folder (set once the suite's before hooks ran). */
  readonly base: string;
  readonly port: number;
  /** Tree faults the server reported (a test checks none happened). */
  readonly faults: unknown[];
  /** Clients a test opened: closed after each test. */
  readonly clients: Client[];
  /** The trees served now, by aname (a test may add one). */
  readonly trees: Record<string, Node>;
  /** Replaces the trees served from now on, disposing the previous export trees. */
  setTrees(trees: Record<string, Node>): void;
}

/** `prepare` runs in the suite's before hook, after the base folder exists and before serving. */
export function exportSuite(t: Test, prefix: string, prepare?: (base: string) => void): ExportSuite {
  let trees: Record<string, Node> = {};
  let server: NineServer | undefined;
  const dispose = (): void => { for (const tree of Object.values(trees)) (tree as ExportNode).dispose?.(); };
  const s = {
    base: '',
    port: 0,
    faults: [] as unknown[],
    clients: [] as Client[],
    get trees(): Record<string, Node> { return trees; },
    setTrees(next: Record<string, Node>): void {
      dispose();
      trees = next;
    },
  };
  t.before(async () => {
    s.base = mkdtempSync(join(tmpdir(), prefix));
    prepare?.(s.base);
    ({ server, port: s.port } = await serveTrees(() => trees, s.faults));
  });
  t.after.each(async () => {
    await Promise.all(s.clients.splice(0).map((c) => c.close()));
  });
  t.after(async () => {
    dispose();
    await server?.close();
    if (s.base) rmSync(s.base, { recursive: true, force: true });
  });
  return s;
}
