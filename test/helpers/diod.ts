// Helpers for tests that use Debian's diod package as a real 9P2000.L peer: its client tools
// (diodls, diodcat, diodload) against our server, and the diod server against our client.
// A missing binary is a failure that says what to install, never a silent skip.
//
// diod invocation that works here (root or not): diod -f -n -l 127.0.0.1:PORT -e DIR
// -L stderr -c /dev/null   (-f foreground, -n no auth, -c /dev/null ignores /etc/diod.conf;
// unprivileged runs add -S, squashing every attach to the running user).

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../../base/free-port.ts';

export { freePort };

const DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Absolute path of a diod binary, or an Error telling how to install it. */
export function diodBinary(name: 'diod' | 'diodls' | 'diodcat' | 'diodload'): string {
  for (const d of DIRS) {
    const p = `${d}/${name}`;
    if (existsSync(p)) return p;
  }
  throw new Error(`${name} not found in ${DIRS.join(':')}: install Debian's diod package (apt-get install diod)`);
}

export interface RunResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stdoutBytes: Buffer; stderr: string; ms: number }

/** Runs a tool to completion; kills it (and fails) after `timeoutMs`, naming the command. */
export function runTool(bin: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    const stdout = (): string => Buffer.concat(out).toString('utf8');
    child.stdout.on('data', (d: Buffer) => { out.push(d); });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${bin} ${args.join(' ')} did not finish within ${timeoutMs} ms (stdout: ${stdout().slice(0, 500)} stderr: ${stderr.slice(0, 500)})`));
    }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: stdout(), stdoutBytes: Buffer.concat(out), stderr, ms: Date.now() - started });
    });
  });
}



async function waitForPort(port: number, deadlineMs: number, child: ChildProcess, log: () => string): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`diod exited (${child.exitCode ?? child.signalCode}) before listening on 127.0.0.1:${port}: ${log()}`);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`diod did not listen on 127.0.0.1:${port} within ${deadlineMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface DiodServer { port: number; aname: string; log(): string; stop(): Promise<void> }

/** Starts `diod` exporting `dir` on a free loopback port; stop() ends it (SIGTERM, then SIGKILL). */
export async function startDiod(dir: string, deadlineMs = 5000): Promise<DiodServer> {
  const bin = diodBinary('diod');
  const port = await freePort();
  const args = ['-f', '-n', '-l', `127.0.0.1:${port}`, '-e', dir, '-L', 'stderr', '-c', '/dev/null'];
  if (process.getuid?.() !== 0) args.push('-S');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => { output += d; });
  child.stderr!.on('data', (d) => { output += d; });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForPort(port, deadlineMs, child, () => output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, aname: dir, log: () => output, stop };
}
