// `cheshire` command line: start a node, list modules (descriptors only, no module code runs),
// and show a local node's status.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Host } from '../host.ts';
import { discoverModules } from '../discover.ts';
import { loadNodeConfig, loadRole } from '../config/node-config.ts';
import { planInstances } from '../planner.ts';
import { mirrorStatus, readStatus } from '../status-file.ts';
import { formatDescriptor, formatStatus } from './format.ts';

const USAGE = `usage: cheshire <command> [options]

commands:
  start [--role NAME] [--config FILE]   start a node (default role from cheshire.json)
  ls [--all] [--json] [--config FILE]   modules of the role (--all: every module found);
                                        reads descriptors only, runs no module code
  status [--json] [--config FILE]       status of the local node started with that config

options:
  --config FILE   cheshire.json to use (default ./cheshire.json)
  --role NAME     role preset from config/roles/NAME.json`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string', default: 'cheshire.json' },
    role: { type: 'string' },
    all: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const configFile = resolve(values.config);
const fail = (msg: string): never => {
  console.error(`cheshire: ${msg}`);
  process.exit(1);
};

async function start(): Promise<void> {
  if (!existsSync(configFile)) fail(`no config file at ${configFile} (use --config FILE)`);
  const host = new Host({ configFile, role: values.role });
  const stopMirror = mirrorStatus(host);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    host.log.info(`${signal}: stopping`);
    await host.close();
    await stopMirror();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await host.start();
}

async function ls(): Promise<void> {
  const config = await loadNodeConfig(configFile);
  const base = dirname(configFile);
  const found = discoverModules(config.moduleDirs, base);
  let mods = found.modules;
  if (!values.all) {
    const role = await loadRole(values.role ?? config.role, base);
    const ids = new Set([...planInstances(role.modules, found.modules).planned.values()].map((p) => p.desc.dir));
    mods = mods.filter((m) => ids.has(m.dir));
  }
  if (values.json) {
    console.log(JSON.stringify({ modules: mods, invalid: found.invalid.map((i) => ({ dir: i.dir, error: i.error.message })) }, null, 2));
    return;
  }
  for (const m of mods) console.log(formatDescriptor(m, relative(process.cwd(), m.dir) || '.'));
  for (const bad of found.invalid) console.log(`! ${relative(process.cwd(), bad.dir)}: ${bad.error.message}\n`);
}

async function status(): Promise<void> {
  const config = await loadNodeConfig(configFile);
  const file = join(resolve(dirname(configFile), config.stateDir), 'status.json');
  if (!existsSync(file)) fail(`no node has run with ${configFile} (no ${file}); start one with: cheshire start`);
  const st = await readStatus(file);
  let alive = true;
  try {
    process.kill(st.pid, 0);
  } catch {
    alive = false;
  }
  if (values.json) console.log(JSON.stringify({ ...st, running: alive }, null, 2));
  else console.log(formatStatus(st, alive));
  if (!alive) fail(`node ${st.node} is not running (pid ${st.pid} gone; status above is from ${st.updatedAt})`);
}

const commands: Record<string, () => Promise<void>> = { start, ls, status };
const cmd = positionals[0];
if (values.help || !cmd) {
  console.log(USAGE);
  process.exit(cmd || values.help ? 0 : 1);
}
const run = commands[cmd];
if (!run) fail(`unknown command "${cmd}"\n${USAGE}`);
try {
  await run!();
} catch (err) {
  fail((err as Error).message);
}
