// Stack traces of bundled module code, in the module's own files: `…/hello/index.ts:12:11`, not
// the bundle's line. Measured on Node 20.20: neither --enable-source-maps nor
// process.setSourceMapsEnabled(true) applies an inline map to vm.compileFunction code, so we
// remap V8's call sites ourselves, in an Error.prepareStackTrace that wraps the previous one
// (Node's, which keeps mapping the host's tsx-compiled frames). Only frames whose file is a
// registered bundle are touched: a Map lookup per frame, and a map is parsed on the first error
// that needs it. Each bundle's map lives exactly as long as the code that holds it (a WeakRef
// here, a strong reference from its exports), so an evicted version takes its map with it.
import { SourceMap, findSourceMap } from 'node:module';
import { resolve as resolvePath, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface Origin {
  file: string;
  line: number;
  col: number;
  name?: string;
}

/** One bundle's source map; `base` is the folder its `sources` are relative to. */
export class BundleMap {
  private map: SourceMap | null = null;
  constructor(
    private readonly base: string,
    private text: string,
  ) {}

  /** The original position of a 1-based generated line:column, or null where nothing maps. */
  lookup(line: number, col: number): (Origin & { exact: boolean }) | null {
    if (!this.map) {
      this.map = new SourceMap(JSON.parse(this.text));
      this.text = '';
    }
    const e = this.map.findEntry(line - 1, col - 1) as Partial<{ originalSource: string; originalLine: number; originalColumn: number; generatedColumn: number; name: string }>;
    if (e.originalSource === undefined || e.originalLine === undefined || e.originalColumn === undefined) return null;
    return { file: resolvePath(this.base, e.originalSource), line: e.originalLine + 1, col: e.originalColumn + 1, name: e.name, exact: e.generatedColumn === col - 1 };
  }
}

const live = new Map<string, WeakRef<BundleMap>>();
const released = new FinalizationRegistry<string>((name) => {
  if (!live.get(name)?.deref()) live.delete(name);
});

/**
 * Registers the map of the code compiled under `name` (the filename given to V8). The caller
 * must keep the returned object referenced as long as that code may run; the same name (same
 * bundle hash, so the same map) shares one object.
 */
export function registerBundle(name: string, base: string, mapText: string): BundleMap {
  const current = live.get(name)?.deref();
  if (current) return current;
  const map = new BundleMap(base, mapText);
  live.set(name, new WeakRef(map));
  released.register(map, name);
  return map;
}

/** How many bundles' maps are alive (tests: a reload must not keep the old version's). */
export function liveBundleCount(): number {
  return [...live.values()].filter((r) => r.deref()).length;
}

type Prepare = (err: Error, sites: NodeJS.CallSite[]) => unknown;
let previous: Prepare | undefined;
let busy = false; // an error raised while remapping is formatted plainly, not remapped again

/** A call site seen through the map: location and name from the source, the rest from V8. */
function mappedSite(site: NodeJS.CallSite, file: string, at: Origin): NodeJS.CallSite {
  const v8Name = site.getFunctionName();
  const gen = `${file}:${site.getLineNumber()}:${site.getColumnNumber()}`;
  const loc = `${at.file}:${at.line}:${at.col}`;
  // Node's formatter would map a file it also loaded natively (tsx) a second time: hide the
  // name from it there, so it prints our toString().
  const hide = findSourceMap(at.file) !== undefined;
  const overrides: Partial<Record<keyof NodeJS.CallSite | 'toString', () => unknown>> = {
    getFileName: () => (hide ? undefined : at.file),
    getScriptNameOrSourceURL: () => at.file,
    getEvalOrigin: () => (hide ? undefined : site.getEvalOrigin()),
    getLineNumber: () => at.line,
    getColumnNumber: () => at.col,
    getFunctionName: () => at.name ?? v8Name,
    toString: () => {
      let text = String(site).replace(gen, () => loc);
      if (at.name && v8Name && at.name !== v8Name) text = text.replace(v8Name, () => at.name!);
      return text;
    },
  };
  return new Proxy(site, {
    get(target, key) {
      if (key in overrides) return overrides[key as keyof typeof overrides];
      const v = Reflect.get(target, key) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function remapSites(sites: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return sites.map((site, i) => {
    const file = site.getFileName();
    const bundle = file ? live.get(file)?.deref() : undefined;
    const line = site.getLineNumber();
    const col = site.getColumnNumber();
    const at = bundle && line && col ? bundle.lookup(line, col) : null;
    if (!at) return site;
    // esbuild renames clashing functions (start -> start2); the original name is in the map at
    // the caller's call position, when the caller is in the same bundle.
    const caller = sites[i + 1];
    const [cl, cc] = caller?.getFileName() === file ? [caller.getLineNumber(), caller.getColumnNumber()] : [null, null];
    const from = cl && cc ? bundle!.lookup(cl, cc) : null;
    return mappedSite(site, file!, { ...at, name: from?.exact ? from.name : undefined });
  });
}

function prepare(err: Error, sites: NodeJS.CallSite[]): unknown {
  let mapped = sites;
  if (live.size && !busy) {
    busy = true;
    try {
      mapped = remapSites(sites);
    } catch {
      mapped = sites; // a bad map must never cost the error its stack
    } finally {
      busy = false;
    }
  }
  if (previous) return previous(err, mapped);
  // Error.prepareStackTrace was unset (a Node without a public default formatter): V8's format.
  return `${Error.prototype.toString.call(err)}${mapped.map((s) => `\n    at ${s}`).join('')}`;
}

/** Installs the remapping formatter once, in front of whatever formatter was there. */
export function installStackMapping(): void {
  if (Error.prepareStackTrace === prepare) return;
  previous = Error.prepareStackTrace;
  Error.prepareStackTrace = prepare;
}

const FRAME = /^(\s*at (?:.*?\()?)([^()]*?):(\d+):(\d+)(\)?)\s*$/;

/** Maps one already-formatted frame line whose file is a live bundle (a stack formatted before the hook). */
function remapLine(line: string): string {
  const m = FRAME.exec(line);
  const bundle = m ? live.get(m[2]!)?.deref() : undefined;
  const at = bundle?.lookup(Number(m![3]), Number(m![4]));
  return at ? `${m![1]}${at.file}:${at.line}:${at.col}${m![5]}` : line;
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOST_DIRS = ['base/', 'core/', 'fs/'].flatMap((d) => [ROOT + d, pathToFileURL(ROOT + d).href]);

/** Frames of the host itself: base/, core/, fs/, Node's internals and built-ins, tsx. */
export function isHostFrame(line: string): boolean {
  return /\(node:|^\s*at node:|\(<anonymous>\)|\/node_modules\/tsx\//.test(line) || HOST_DIRS.some((d) => line.includes(d));
}

function formatOne(err: Error, full: boolean): string {
  const lines = String(err.stack ?? `${err.name}: ${err.message}`).split('\n').map(remapLine);
  return (full ? lines : lines.filter((l) => !/^\s*at /.test(l) || !isHostFrame(l))).join('\n');
}

/**
 * An error's stack for people: source-mapped to the module's files (if not already) and, unless
 * `full`, without the host's own frames; then its causes' stacks (where a module's frames are
 * when the host wrapped its error), up to five deep.
 */
export function moduleStack(err: unknown, opts: { full?: boolean } = {}): string {
  const e = err instanceof Error ? err : new Error(String(err));
  let text = formatOne(e, opts.full ?? false);
  let cause = (e as { cause?: unknown }).cause;
  for (let depth = 0; cause instanceof Error && depth < 5; depth++) {
    text += `\nCaused by: ${formatOne(cause, opts.full ?? false)}`;
    cause = (cause as { cause?: unknown }).cause;
  }
  return text;
}

/** `file:line:col` of the first frame of `err` in `dir` (a module's folder), or null. */
export function errorLocation(err: unknown, dir: string): string | null {
  if (!(err instanceof Error)) return null;
  for (const line of String(err.stack ?? '').split('\n')) {
    const m = FRAME.exec(remapLine(line));
    if (m && m[2]!.startsWith(dir + sep)) return `${m[2]}:${m[3]}:${m[4]}`;
  }
  return null;
}
