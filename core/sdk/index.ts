// cheshire/sdk: the one entry a module imports (package.json `exports`). Everything a module
// needs from the host is re-exported here; a module reaches nothing under core/, fs/ or base/ by
// path. The host loads this file once and hands the same instance to every module and every
// version of it (the loader maps `cheshire/sdk` to it), so instanceof and singletons hold.

// The module contract: descriptor, start(ctx), what ctx.host reports.
export type {
  Cardinality, Descriptor, Dynamic, DynamicAll, ErrorInfo, HistoryEntry, HostControl, Identity, InstanceState, InstanceStatus, LogQuery, LogRecord,
  ModuleContext, ModuleExports, Mount, NodeStatus, Policy, ReloadEvent, ReloadTrigger, Requirement, Revision, RevisionSource,
  StallInfo, Teardown, TestResult, WatchdogStatus,
} from '../types.ts';

// Health and metrics: the health(ctx) export's answer, ctx.metrics and the prom-client objects it returns.
export type { HealthReport, HealthResult, MetricConfig, ModuleMetrics } from '../types.ts';
export type { Counter, Gauge, Histogram } from 'prom-client';
export { httpRequests, HTTP_REQUESTS, type HttpRequestLabels, type HttpRequests } from '../metrics/http.ts';

// Errors: declare a module's own CHS_ERR_* codes; raise the host's shared ones.
export { CheshireError, defineErrors, errorText } from '../../base/errors.ts';
export { chsError, type ErrorCode } from '../errors.ts';

// HTTP: a server whose listener survives reloads.
export { serveHttp, closeServer, type Handler } from './http.ts';
// HTTP listeners facing strangers: connection caps per address, head/body/idle deadlines, closing answers.
export { guardLimits, httpGuard, HttpGuard, type HttpGuardOptions, type HttpLimits, type HttpLimitsConfig, type GuardStats } from './http-guard.ts';
export { Clocks, ConnClock, type ClockKind, type ClockLimits, type OnExpire } from './conn-clock.ts';
export { answerAndClose, closingAnswer } from './http-close.ts';
export { hasBareCrLfOrNul } from './http-bytes.ts';
export type { Slot, SlotLimits } from '../../base/peer-slots.ts';

// Addresses, node identity, durable files, JSON diffs, log lines.
export { parseHostPort, formatAddress } from '../../base/address.ts';
export { normalizeAddress, isLoopback } from '../../base/peer.ts';
export { verifySignature } from '../identity.ts';
export { writeFileAtomic, readJsonFile, parseJsonText, type WriteAtomicOptions } from '../config/atomic.ts';
export { jsonEqual, diffJson, formatDiff, type JsonChange, type FormatDiffOptions } from '../config/diff.ts';
export { formatRecord } from '../log.ts';
export { parseLogRequest, logRequestText, parseSince, parseLevel, matchesQuery, type LogRequest } from '../logs/query.ts';

// Code that loads other code: an evictable one-file loader and the host's file watcher.
export { loadCodeFile } from '../loader.ts';
export { Watcher, relativeTo, type WatchTarget } from '../watcher.ts';

// File trees for ctx.mount, and the 9P server and client-side trees that serve or import them.
export {
  SynDir, SynFile, SynCtl, dir, file, ctl, root,
  type NodeOptions, type FileOptions, type CtlOptions,
} from '../../fs/tree/synthetic.ts';
export { SynStream, SynStreamFollow, StreamBuffer, StreamCursor, stream, type StreamOptions } from '../../fs/tree/stream.ts';
export type { Attr, AttrChange, AttachFn, AttachRequest, CreateRequest, Handle, MaybePromise, Node, OpenMode, StatFs } from '../../fs/tree/types.ts';
export { E, NineError } from '../../fs/errors.ts';
export { NodeAlias } from '../../fs/tree/alias.ts';
export { RemoteTree, type RemoteTreeOptions, type RemoteStatus, type RemoteState } from '../../fs/tree/remote.ts';
export { exportTree, type ExportOptions } from '../../fs/tree/export.ts';
export { SwitchRoot, type SwitchTarget } from '../../fs/tree/switch-root.ts';
export { NineServer, type ServerOptions } from '../../fs/server/server.ts';
export type { AuthInfo, AuthConversation, AuthProvider } from '../../fs/server/auth.ts';
export { secretConversation } from '../../fs/server/secret-auth.ts';

// Buffers for high-throughput sockets: pooled chunks, reads into a reused buffer.
export { ChunkPool } from '../../base/bytes/chunk-pool.ts';
export { reusedOnread, readIntoReusedBuffer, retargetReusedRead, type ReusedReader, type ReadBufferSource } from '../../base/bytes/reused-read.ts';
