// The host's error codes (descriptor, loader, lifecycle, config, CLI). The error base and the
// one registry of all codes are in base/errors.ts; 9P codes are in fs/errors.ts and each
// module declares its own in its errors.ts.
import { defineErrors } from '../base/errors.ts';

export { CheshireError, errorText } from '../base/errors.ts';
// Node-to-node TLS codes (CHS_ERR_TLS_*) live with base/tls, below fs/ and the modules that use them.
export { tlsError } from '../base/tls/errors.ts';

/** code -> one-line meaning: the host's codes. */
export const ERROR_CODES = {
  CHS_ERR_DESCRIPTOR_INVALID: 'a module descriptor (package.json "cheshire" field) is missing or malformed',
  CHS_ERR_MODULE_NOT_FOUND: 'a role or command names a module that no module directory holds',
  CHS_ERR_MODULE_LOAD: 'a module\'s code failed to compile or evaluate',
  CHS_ERR_MODULE_NO_START: 'a module\'s entry does not export a start(ctx) function',
  CHS_ERR_MODULE_START: 'a module threw or rejected in start(ctx)',
  CHS_ERR_MODULE_STOP: 'a module\'s teardown threw or rejected',
  CHS_ERR_START_TIMEOUT: 'a module\'s start(ctx) did not settle in time',
  CHS_ERR_STOP_TIMEOUT: 'a module\'s teardown did not settle in time',
  CHS_ERR_MODULE_CRASH: 'a module\'s own callback threw or rejected after start',
  CHS_ERR_MODULE_FAILED: 'a module crashed too often and was given up on',
  CHS_ERR_EVENT_LOOP_BLOCKED: 'a module\'s code kept the event loop from ticking for longer than watchdog.blockedMs; counted as a crash',
  CHS_ERR_MODULE_TEST: 'a module\'s tests failed before activation',
  CHS_ERR_MODULE_TYPECHECK: 'a module whose descriptor says "typecheck": "refuse" has type errors (or its check timed out); the reload is refused',
  CHS_ERR_DEP_CYCLE: 'the required services of the planned modules form a cycle',
  CHS_ERR_DEP_MISSING: 'no module provides a service in a required version range',
  CHS_ERR_DEP_UNAVAILABLE: 'a dynamic dependency was called while its provider was away, past the wait bound',
  CHS_ERR_CONFIG_INVALID: 'a config value does not match its schema',
  CHS_ERR_CONFIG_TOO_LARGE: 'a config document written to the node (e.g. /modules/M/config) is larger than the cap; nothing was applied',
  CHS_ERR_CONFIG_PARSE: 'a config file is not valid JSON',
  CHS_ERR_ALREADY_RUNNING: 'cheshire start found a live node holding the state directory\'s lock (<stateDir>/node.lock); nothing was touched',
  CHS_ERR_CONFIG_WRITE: 'a config change could not be written or recorded; what had been applied was undone (the message says what was restored)',
  CHS_ERR_ROLE_NOT_FOUND: 'the configured role has no preset in config/roles',
  CHS_ERR_REVISION_NOT_FOUND: 'a config revision number does not exist',
  CHS_ERR_INSTANCE_NOT_FOUND: 'a command names a module instance the node does not run',
  CHS_ERR_MOUNT_INVALID: 'a module asked to mount a subtree at an invalid or already taken path',
  CHS_ERR_ACCESS_POLICY: 'a server was asked to listen beyond loopback without an access policy (allow-list or secret)',
  CHS_ERR_NODE_UNREACHABLE: 'the CLI found no Cheshire node (or 9P server) listening at the address it was given',
  CHS_ERR_IDENTITY: 'the node key file is unreadable, not an ed25519 key, or readable by others',
  CHS_ERR_LOG_QUERY: 'a log query (cheshire logs --since/--level, /modules/M/log.query) has a value it cannot use',
  CHS_ERR_LOG_FILE: 'a log file under <stateDir>/logs could not be written or rotated; the records stay in memory and on the terminal',
  CHS_ERR_HOST_STOPPED: 'an operation was asked of a host that is shutting down',
  CHS_ERR_PROMOTE: 'promoting an instance run from its own folder failed (not a copy of that module, or its code failed to load, test or start); the live instance keeps its code and files',
  CHS_ERR_ROLLBACK: 'a rollback\'s version failed to load, test or start; the current version keeps serving and its files were put back',
  CHS_ERR_HISTORY_LIMIT: 'a module folder exceeds a version-history cap (a file or the whole snapshot too large, or too many files)',
  CHS_ERR_HISTORY_NOT_FOUND: 'a module has no recorded version history, or no revision (or stored version) by that number or id',
  CHS_ERR_HISTORY_CORRUPT: 'a version-history object, manifest or record fails its integrity check (hash mismatch, missing, malformed)',
  CHS_ERR_HISTORY_RESTORE: 'a revision could not be written out: the target folder exists, or a folder or file the module does not own is in the way',
  CHS_ERR_INSTALL_SPEC: 'cheshire install was given a spec it cannot use (not a package name, tarball, URL, folder or HOST:PORT/path; a bad #sha256= pin)',
  CHS_ERR_INSTALL_FETCH: 'a module to install could not be fetched (registry, tarball, URL, folder or 9P tree): not found, unreachable or cut off',
  CHS_ERR_INSTALL_INTEGRITY: 'a module to install does not match the integrity pinned for it (#sha256= or #sha512-) or recorded by its registry',
  CHS_ERR_INSTALL_EXISTS: 'a module version is already in the module store (install with force to replace it)',
  CHS_ERR_INSTALL_IN_USE: 'an installed module version cannot be removed while an instance of the node runs it',
  CHS_ERR_INSTALL_DEPS: 'npm could not install the dependencies of a module being installed',
  CHS_ERR_INSTALL_ABORTED: 'an install was cancelled (its AbortSignal fired) before it completed; nothing was kept',
  CHS_ERR_HEALTH_TIMEOUT: 'a module\'s health(ctx) did not settle within its descriptor\'s health.timeoutMs; the check counts as failed',
  CHS_ERR_HEALTH_FAILED: 'a module\'s health(ctx) threw, returned false or { ok: false }, or returned something that is not a boolean or { ok }',
  CHS_ERR_METRIC_INVALID: 'a module asked ctx.metrics for a metric with an invalid name, help or label name (or the reserved label `module`)',
  CHS_ERR_ISOLATION_CLONE: 'a value passed to or returned from an isolated (worker) module is not plain data (a function, a stream, a class instance) and cannot cross the boundary; the message names the service and member',
  CHS_ERR_ISOLATION_UNSUPPORTED: 'an isolated (worker) module used a part of ctx (or an import) that is not available across the worker boundary; the message names the member',
  CHS_ERR_ISOLATION_WORKER: 'an isolated module\'s worker thread or child process failed to boot, exited on its own or was ended; counted as a crash of that instance',
  CHS_ERR_ISOLATION_LIMIT: 'an isolated module\'s worker or process exceeded its resourceLimits (ERR_WORKER_OUT_OF_MEMORY; a process\'s V8 heap limit) and was ended; counted as a crash of that instance',
  CHS_ERR_ISOLATION_STALL: 'an isolated module\'s worker or process did not answer the host\'s heartbeat within its stallMs (its event loop is blocked) and was ended; counted as a crash of that instance; the message names the module and how long',
  CHS_ERR_ISOLATION_CALL_TIMEOUT: 'a call across the isolation boundary (a service method of an isolated module, or a dependency called from one) did not answer within callMs; the message names service.member',
  CHS_ERR_METRIC_CONFLICT: 'a metric name is already taken: by the node, by this incarnation, or by another instance with a different type or label names',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const chsError = defineErrors(ERROR_CODES);
