// Test helper: runs `node ARGS` (the cheshire CLI, tsc, ...) as a child process to completion,
// with a deadline that kills it and fails naming the command and what it printed so far.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './project.ts';

export interface RunResult { code: number | null; stdout: string; stderr: string }

/** `node ARGS` in `cwd`, without CHESHIRE_NODE/CHESHIRE_SECRET from the environment. */
export function runNode(args: string[], cwd: string, timeoutMs = 60_000, stdin?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0' };
    delete env.CHESHIRE_NODE;
    delete env.CHESHIRE_SECRET;
    delete env.CHESHIRE_NODE_KEY;
    const child = spawn(process.execPath, args, { cwd, env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) child.stdin!.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => { stdout += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${args.join(' ')} did not finish within ${timeoutMs} ms (stdout: ${stdout.slice(0, 500)} stderr: ${stderr.slice(0, 500)})`));
    }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

// tsx by absolute URL: the working folder may be outside the repository, without node_modules.
const TSX = import.meta.resolve('tsx');

/** The cheshire CLI with `args` (cwd: the repository unless given). */
export function cheshire(args: string[], opts: { cwd?: string; timeoutMs?: number; stdin?: string } = {}): Promise<RunResult> {
  return runNode(['--import', TSX, join(REPO, 'core/cli/main.ts'), ...args], opts.cwd ?? REPO, opts.timeoutMs ?? 15_000, opts.stdin);
}

export const show = (r: RunResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
