// The worker's side: one TypeScript LanguageService per module folder, kept between checks so a
// repeated check reuses every unchanged parsed and bound file (lib, @types/node, the host's sdk)
// and only re-parses what changed. All services share one DocumentRegistry, so those files are
// held once however many modules are checked. Runs synchronously; a check is cancelled through
// TypeScript's own cancellation token, which the checker polls between statements.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { sep } from 'node:path';
import { ts, type TS } from './ts.ts';
import { setupFor, type Setup } from './options.ts';
import type { TypeDiagnostic, TypeUnit } from './types.ts';

/** Services kept at most; the least recently checked module's is disposed beyond it. */
const MAX_SERVICES = 16;

interface Service {
  ls: TS.LanguageService;
  /** What the service's host reads; replaced by each check (a tsconfig may have changed). */
  current: { setup: Setup };
}

export class ModuleChecks {
  readonly #registry = ts.createDocumentRegistry(ts.sys.useCaseSensitiveFileNames);
  readonly #services = new Map<string, Service>();
  #cancelled: () => boolean = () => false;

  /** Diagnostics of the unit's own files; throws ts.OperationCanceledException when cancelled. */
  check(unit: TypeUnit, cancelled: () => boolean): TypeDiagnostic[] {
    const setup = setupFor(unit);
    this.#cancelled = cancelled;
    const service = this.#serviceFor(setup);
    const program = service.ls.getProgram();
    if (!program) throw new Error(`no program for ${setup.dir}`);
    const token: TS.CancellationToken = {
      isCancellationRequested: cancelled,
      throwIfCancellationRequested: () => { if (cancelled()) throw new ts.OperationCanceledException(); },
    };
    // Only the module's own files are checked: the host's files (the sdk and what it imports)
    // and sibling modules' files are not this module's problem, and the host's `tsc --noEmit`
    // covers them. Not checking them at all, rather than filtering, is what makes a check fast.
    const found: TS.Diagnostic[] = [...setup.configErrors, ...program.getOptionsDiagnostics(token)];
    for (const sf of program.getSourceFiles()) {
      if (!ownFile(setup.dir, sf.fileName)) continue;
      found.push(...program.getSyntacticDiagnostics(sf, token), ...program.getSemanticDiagnostics(sf, token));
    }
    found.push(...program.getGlobalDiagnostics(token));
    return found.filter((d) => !d.file || ownFile(setup.dir, d.file.fileName)).map((d) => toDiagnostic(d, setup.dir));
  }

  /** Releases every service (the worker is going away or was asked to forget). */
  dispose(): void {
    for (const s of this.#services.values()) s.ls.dispose();
    this.#services.clear();
  }

  #serviceFor(setup: Setup): Service {
    let service = this.#services.get(setup.dir);
    if (service) {
      this.#services.delete(setup.dir); // re-inserted last: Map order is the recency order
      service.current.setup = setup;
    } else {
      const current = { setup };
      service = { ls: ts.createLanguageService(hostFor(current, () => this.#cancelled()), this.#registry), current };
    }
    this.#services.set(setup.dir, service);
    for (const [dir, old] of this.#services) {
      if (this.#services.size <= MAX_SERVICES) break;
      old.ls.dispose();
      this.#services.delete(dir);
    }
    return service;
  }
}

/** A LanguageServiceHost reading the disk. A file's version decides whether it is re-parsed:
 *  the module's own files (small, and just edited) are versioned by a hash of their content, so
 *  a same-size save within a coarse mtime tick is still seen; every other file (lib, @types,
 *  the host) by its mtime and size, so it is never re-read. */
function hostFor(current: { setup: Setup }, cancelled: () => boolean): TS.LanguageServiceHost {
  // Text read to version an own file, handed to getScriptSnapshot if TypeScript then asks for it.
  const read = new Map<string, string>();
  return {
    getCompilationSettings: () => current.setup.options,
    getScriptFileNames: () => current.setup.roots,
    getScriptVersion: (file) => {
      try {
        if (ownFile(current.setup.dir, file)) {
          const text = readFileSync(file, 'utf8');
          read.set(file, text);
          return createHash('sha1').update(text).digest('base64');
        }
        const st = statSync(file);
        return `${st.mtimeMs}:${st.size}`;
      } catch {
        return 'missing';
      }
    },
    getScriptSnapshot: (file) => {
      try {
        const text = read.get(file) ?? readFileSync(file, 'utf8');
        read.delete(file);
        return ts.ScriptSnapshot.fromString(text);
      } catch {
        return undefined;
      }
    },
    getCurrentDirectory: () => current.setup.dir,
    getDefaultLibFileName: (options) => ts.getDefaultLibFilePath(options),
    fileExists: ts.sys.fileExists,
    readFile: ts.sys.readFile,
    readDirectory: ts.sys.readDirectory,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath!,
    useCaseSensitiveFileNames: () => ts.sys.useCaseSensitiveFileNames,
    getCancellationToken: () => ({ isCancellationRequested: cancelled }),
  };
}

/** A file of the module itself: inside its folder, not in a package under its node_modules. */
function ownFile(dir: string, file: string): boolean {
  return file.startsWith(dir + sep) && !file.slice(dir.length).includes(`${sep}node_modules${sep}`);
}

function toDiagnostic(d: TS.Diagnostic, dir: string): TypeDiagnostic {
  const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
  if (!d.file || d.start === undefined) return { file: d.file?.fileName ?? dir, line: 0, column: 0, code: d.code, message };
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return { file: d.file.fileName, line: line + 1, column: character + 1, code: d.code, message };
}
