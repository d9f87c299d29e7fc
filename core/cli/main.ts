// `cheshire` command line. `start` and `ls --all` work locally (ls reads descriptors only, no
// module code runs); every other command talks to a running node through its 9P tree.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { discoverModules } from '../discover.ts';
import { loadNodeConfig, loadRole, moduleSearchDirs } from '../config/node-config.ts';
import { planInstances } from '../planner.ts';
import { readStatus } from '../status-file.ts';
import { startNode } from './start.ts';
import type { Dialect } from '../../fs/codec/index.ts';
import { formatDescriptor, formatStatus } from './format.ts';
import { ninepCommand, remoteCommand } from './remote.ts';
import { clusterCommand } from './cluster.ts';
import { fromFolder, storeCommand } from './store.ts';
import { newCommand } from './new.ts';

const USAGE = `usage: cheshire <command> [options]

on this machine:
  start [--role NAME] [--config FILE]   start a node (default role from cheshire.json)
  ls --all [--json] [--role NAME]       every module's descriptor (--role: the role's modules);
                                        reads descriptors only, runs no module code
  status --local                        the node's last status from its state dir (works
                                        when its 9P tree is unreachable)
  new NAME [--dir D]                    write a module folder D/NAME (an HTTP hello, its test,
                                        README, tsconfig); D: cheshire.json's first moduleDirs

on a running node, through its 9P tree (--node HOST:PORT, default 127.0.0.1:6666):
  status                                one line per module instance
  ls [PATH]                             list the node's tree
  stop                                  stop the node (gracefully; waits for it to exit)
  reload M | stop M | start M | test M  steer a module instance
  logs M [-f] [--since T] [--level L]   its log records from the node's log files (history
        [--lines N] [--json]            survives restarts): T 10m, 2h, 1d or an ISO time; L a
                                        level name (warn: warn and above); N newest (default
                                        200 without --since); -f: keep following
  enable M[#I] [--config FILE|-]        add an instance to the running node (or start a disabled
                                        one), only it and what it needs; saved in cheshire.json
  enable M#I --from DIR|SPEC            run another copy or version of M beside the live one (SPEC is
                                        installed first), on its own config
  promote M#I                           M runs that copy's code (a reload, kept in history); M#I goes
  disable M[#I]                         stop an instance and keep it stopped across restarts
  install SPEC [--force]                a module into this node's store: NAME[@RANGE] (npm), ./x.tgz,
                                        https://…/x.tgz, ./folder, HOST:PORT/modules/NAME; #sha256=HEX pins
  uninstall NAME[@VERSION] | installed  remove one (refused while the node runs it) | list them
  history M                             every version of M's code that became active (or was refused)
  rollback M [REV]                      make that version's code active again (default: the previous one)
  config get M | set M FILE|- | history M | revert M REV | pin M REV | unpin M REV
  config set M KEY=VALUE...             set keys of M's config: VALUE is JSON if it parses, else a
                                        string; a.b=1 sets inside an object; KEY= removes KEY
  cat PATH                              print a file of the tree
  ctl PATH COMMAND...                   write a command to a ctl file, print its answer
                                        (e.g. ctl /fileserver/ctl token ttl=600)
  seed nodes | seed routes              the seed's directory (/seed/nodes, /seed/routes)

a local cluster (one process per node on free loopback ports; files in .cheshire/cluster/):
  cluster up [N]                        seed + proxy + fileserver + N live nodes (default 2)
  cluster down | cluster status         stop them | where each listens and the seed's directory

any 9P server (ours, diod, plan9port):
  9p ls|cat|write|stat HOST:PORT PATH [DATA|-]   [--version 9P2000|9P2000.L] [--aname NAME]

options:
  --config FILE   cheshire.json (default ./cheshire.json)
  --node ADDR     the node's 9P address (default 127.0.0.1:6666, or CHESHIRE_NODE)
  --secret S      shared secret for a node that requires it (or CHESHIRE_SECRET)
  --key HEX       reach the node (or 9p server) over TLS 1.3; it must prove this ed25519 key (64 hex
                  digits, its status' publicKey; or CHESHIRE_NODE_KEY). This folder's node key is
                  presented when a node ran here, else a one-off key (docs/tls.md)`;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    // No default here: `enable M --config FILE` reads an instance's config only when it is given.
    config: { type: 'string' },
    role: { type: 'string' },
    all: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    local: { type: 'boolean', default: false },
    node: { type: 'string', default: process.env.CHESHIRE_NODE ?? '127.0.0.1:6666' },
    secret: { type: 'string', default: process.env.CHESHIRE_SECRET },
    key: { type: 'string', default: process.env.CHESHIRE_NODE_KEY },
    follow: { type: 'boolean', short: 'f', default: false },
    since: { type: 'string' },
    level: { type: 'string' },
    lines: { type: 'string', short: 'n' },
    version: { type: 'string' },
    aname: { type: 'string' },
    dir: { type: 'string' },
    force: { type: 'boolean', default: false },
    from: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const configFile = resolve(values.config ?? 'cheshire.json');
const fail = (msg: string): never => {
  console.error(`cheshire: ${msg}`);
  process.exit(1);
};

async function start(): Promise<void> {
  if (!existsSync(configFile)) fail(`no config file at ${configFile} (use --config FILE)`);
  await startNode(configFile, values.role);
}

/** This folder's node key (`<stateDir>/node.key`), when a node has run with cheshire.json here. */
async function identityFile(file: string): Promise<string | undefined> {
  if (!values.key || !existsSync(file)) return undefined;
  const config = await loadNodeConfig(file).catch(() => null);
  const key = config ? join(resolve(dirname(file), config.stateDir), 'node.key') : undefined;
  return key && existsSync(key) ? key : undefined;
}

async function lsLocal(): Promise<void> {
  const config = await loadNodeConfig(configFile);
  const base = dirname(configFile);
  const found = discoverModules(moduleSearchDirs(config, base), base);
  let mods = found.modules;
  if (values.role) {
    const role = await loadRole(values.role, base);
    const dirs = new Set([...planInstances(role.modules, found.modules).planned.values()].map((p) => p.desc.dir));
    mods = mods.filter((m) => dirs.has(m.dir));
  }
  if (values.json) {
    console.log(JSON.stringify({ modules: mods, invalid: found.invalid.map((i) => ({ dir: i.dir, error: i.error.message })) }, null, 2));
    return;
  }
  for (const m of mods) console.log(formatDescriptor(m, relative(process.cwd(), m.dir) || '.'));
  for (const bad of found.invalid) console.log(`! ${relative(process.cwd(), bad.dir)}: ${bad.error.message}\n`);
}

async function statusLocal(): Promise<void> {
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

// `cheshire ls | head`: a closed pipe ends the output, not the process with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const [cmd, ...args] = positionals;
if (values.help || !cmd) {
  console.log(USAGE);
  process.exit(cmd || values.help ? 0 : 1);
}
const remote = {
  node: values.node, secret: values.secret, key: values.key, identityFile: await identityFile(configFile), follow: values.follow, version: values.version as Dialect | undefined, aname: values.aname,
  logs: { since: values.since, level: values.level, lines: values.lines, json: values.json },
};
try {
  if (cmd === 'start' && args.length === 0) await start();
  else if (cmd === 'ls' && (values.all || values.role)) await lsLocal();
  else if (cmd === 'status' && values.local) await statusLocal();
  else if (cmd === '9p') await ninepCommand(args, remote);
  else if (cmd === 'cluster') await clusterCommand(args, configFile);
  else if (cmd === 'new') await newCommand(args, { configFile, dir: values.dir });
  else if (cmd === 'install' || cmd === 'uninstall' || cmd === 'installed') process.exitCode = await storeCommand(cmd, values.force ? [...args, '--force'] : args, { configFile, node: values.node, secret: values.secret });
  else if (cmd === 'enable') await remoteCommand(cmd, args, { ...remote, instanceConfig: values.config, from: values.from === undefined ? undefined : await fromFolder(values.from, { configFile, secret: values.secret }) });
  else if (['status', 'ls', 'cat', 'ctl', 'reload', 'stop', 'start', 'test', 'logs', 'config', 'seed', 'history', 'rollback', 'disable', 'promote'].includes(cmd!)) await remoteCommand(cmd!, args, remote);
  else fail(`unknown command "${cmd}"\n\n${USAGE}`);
} catch (err) {
  fail((err as Error).message);
}
