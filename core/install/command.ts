// `cheshire install SPEC [--force]`, for the CLI to call: parses the arguments, shows progress
// (a redrawn line on a terminal, plain lines otherwise), prints the result or the error.
import { installModule, type InstallOptions } from './install.ts';
import { progressPrinter } from './progress.ts';

export interface InstallCommandOptions extends Omit<InstallOptions, 'force' | 'onProgress'> {
  /** Where the result goes (default process.stdout). */
  out?: NodeJS.WritableStream;
  /** Where progress and errors go (default process.stderr). */
  err?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

export const INSTALL_USAGE = 'usage: cheshire install SPEC [--force]\n' +
  '  SPEC: NAME[@RANGE|@TAG] | ./x.tgz | https://host/x.tgz | ./folder | HOST:PORT/modules/NAME, optionally #sha256=HEX\n';

/** Runs the command; resolves with the exit code (0 installed, 1 refused or failed, 2 usage). */
export async function installCommand(args: readonly string[], opts: InstallCommandOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const specs: string[] = [];
  let force = false;
  for (const a of args) {
    if (a === '--force' || a === '-f') force = true;
    else if (a === '--help' || a === '-h') { out.write(INSTALL_USAGE); return 0; }
    else if (a.startsWith('-')) { err.write(`unknown option ${a}\n${INSTALL_USAGE}`); return 2; }
    else specs.push(a);
  }
  if (specs.length !== 1) { err.write(INSTALL_USAGE); return 2; }
  const { out: _out, err: _err, ...rest } = opts;
  const progress = progressPrinter(err);
  try {
    const r = await installModule(specs[0]!, { ...rest, force, onProgress: progress });
    progress.end();
    out.write(`installed ${r.name}@${r.version} in ${r.dir}\n  from ${r.resolved}\n  integrity ${r.integrity}\n  pin with ${r.source}#sha256=${r.sha256}\n  enable it on the running node: npx cheshire enable ${r.name}\n`);
    return 0;
  } catch (e) {
    progress.end();
    err.write(`${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}
