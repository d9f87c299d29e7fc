// `cheshire new NAME [--dir D]`: writes a working module folder D/NAME (an HTTP hello, its test,
// a README and a tsconfig.json for editors) and prints the next steps. Never overwrites: an
// existing folder or an invalid name is refused before anything is written.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { loadNodeConfig } from '../config/node-config.ts';
import { indexTs, packageJson, readme, testTs, tsconfigJson, type TestFlavour } from './new-templates.ts';

/** The descriptor's rule for names (core/descriptor.ts). */
const NAME = /^[a-z0-9][a-z0-9._-]*$/;

// Resolved through the host package's own `exports` (a self-reference), as core/typecheck does;
// on use, so no other command depends on it.
const hostRequire = createRequire(import.meta.url);
const hostRoot = () => dirname(hostRequire.resolve('cheshire/package.json'));

function nodeTypeRoot(): string | null {
  try {
    return dirname(dirname(hostRequire.resolve('@types/node/package.json')));
  } catch {
    return null;
  }
}

export interface NewOptions {
  /** Parent folder of the new module; default: the first of cheshire.json's moduleDirs. */
  dir?: string;
  /** cheshire.json (need not exist). */
  configFile: string;
}

export interface Created {
  /** The module folder. */
  dir: string;
  /** Files written, relative to `dir`. */
  files: string[];
  flavour: TestFlavour;
  /** What to do next, one line each. */
  next: string[];
}

const inside = (root: string, path: string): boolean => {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/** A path as the user reads it: relative under the working folder, else absolute. */
const display = (path: string): string => (inside(process.cwd(), path) ? relative(process.cwd(), path) || '.' : path);

/** A path for the module's tsconfig.json: relative inside the host's folder, else absolute. */
function pathFrom(moduleDir: string, target: string): string {
  if (!inside(hostRoot(), moduleDir)) return target;
  const rel = relative(moduleDir, target).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** uvu when it resolves from the module folder (see testTs), else node:test. */
function testFlavour(moduleDir: string): TestFlavour {
  try {
    createRequire(join(moduleDir, 'test', 'x.js')).resolve('uvu');
    return 'uvu';
  } catch {
    return 'node:test';
  }
}

/** The line that tells how to enable the module; one place, so `cheshire enable` can replace it. */
function enableStep(name: string): string {
  return `npx cheshire enable ${name}              # starts it on the running node (and only it); saved in cheshire.json`;
}

export async function createModule(name: string, opts: NewOptions): Promise<Created> {
  if (!NAME.test(name)) throw new Error(`"${name}" is not a valid module name: lowercase letters, digits, ".", "_", "-", starting with a letter or digit`);
  const base = dirname(opts.configFile);
  const config = existsSync(opts.configFile) ? await loadNodeConfig(opts.configFile) : null;
  const parent = opts.dir !== undefined
    ? resolve(opts.dir)
    : config ? resolve(base, config.moduleDirs[0] ?? 'modules') : resolve('modules');
  const dir = join(parent, name);
  if (existsSync(dir)) throw new Error(`${dir} already exists; nothing written (pick another name or --dir)`);

  const flavour = testFlavour(dir);
  const typeRoot = nodeTypeRoot();
  const files: Record<string, string> = {
    'package.json': packageJson(name),
    'index.ts': indexTs(name),
    [`test/${name}.test.ts`]: testTs(name, flavour),
    'README.md': readme(name),
    'tsconfig.json': tsconfigJson({ sdkEntry: pathFrom(dir, hostRequire.resolve('cheshire/sdk')), typeRoot: typeRoot && pathFrom(dir, typeRoot) }),
  };
  await mkdir(parent, { recursive: true });
  // Not recursive: if the folder appeared since the check above, this fails instead of writing into it.
  await mkdir(dir);
  try {
    await mkdir(join(dir, 'test'));
    for (const [rel, text] of Object.entries(files)) await writeFile(join(dir, rel), text, { flag: 'wx' });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const discovered = config && config.moduleDirs.some((d) => resolve(base, d) === parent);
  const next = [
    ...(discovered ? [] : [`add "${parent}" to "moduleDirs" in ${config ? display(opts.configFile) : "the node's cheshire.json"}`]),
    enableStep(name),
    `npx cheshire logs ${name}                 # "listening on http://127.0.0.1:PORT" (port 0 = any free port)`,
    `npx cheshire config set ${name} port=8085 # or a fixed port`,
    `edit ${display(join(dir, 'index.ts'))} and save: the node logs "${name} reloaded v0.1.0 #… in N ms"`,
    `npx cheshire test ${name}`,
  ];
  return { dir, files: Object.keys(files), flavour, next };
}

/** The CLI command: creates the module and prints what it wrote and what to do next. */
export async function newCommand(args: string[], opts: NewOptions): Promise<void> {
  const [name, extra] = args;
  if (!name || extra !== undefined) throw new Error('usage: cheshire new NAME [--dir D]');
  const c = await createModule(name, opts);
  const lines = [`created ${display(c.dir)}/`];
  for (const f of c.files) lines.push(`  ${f}${f.endsWith('.test.ts') ? `  (${c.flavour})` : ''}`);
  lines.push('', 'next:');
  for (const step of c.next) lines.push(`  ${step}`);
  console.log(lines.join('\n'));
}
