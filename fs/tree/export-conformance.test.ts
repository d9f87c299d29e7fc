// The conformance suite (fs/conformance.ts) against the local export, writable, over a fresh
// temp dir per test with the suite's layout (f, big, d/g, d/e).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIG, conformance } from '../conformance.ts';
import { exportTree } from './export.ts';
import type { ExportNode } from './export.ts';

const dirs: string[] = [];
const trees: ExportNode[] = [];

const t = conformance('export', {
  writable: true,
  make: () => {
    const d = mkdtempSync(join(tmpdir(), 'cheshire-export-conf-'));
    dirs.push(d);
    writeFileSync(join(d, 'f'), 'hello\n');
    writeFileSync(join(d, 'big'), BIG);
    mkdirSync(join(d, 'd', 'e'), { recursive: true });
    writeFileSync(join(d, 'd', 'g'), 'g\n');
    const tree = exportTree(d, { writable: true });
    trees.push(tree);
    return tree;
  },
});
t.after(() => {
  for (const tree of trees.splice(0)) tree.dispose();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
t.run();
