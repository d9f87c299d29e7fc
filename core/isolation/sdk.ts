// cheshire/sdk as an isolated module sees it: bundled into the isolate's runtime (no tsx there),
// and served for the module's `import ... from 'cheshire/sdk'` (worker-main.ts). serveHttp is the
// isolate's own (the host keeps the listener, ./rt-http.ts); the rest is the host's code, the
// parts that work without the host's heap, and the file trees ctx.mount publishes. Members left
// out (the 9P server and client-side trees, the loader, the watcher) throw
// CHS_ERR_ISOLATION_UNSUPPORTED naming them when a module reads them.
export { serveHttp, closeServer } from './rt-http.ts';
export { httpRequests, HTTP_REQUESTS } from '../metrics/http.ts';
export { CheshireError, defineErrors, errorText } from '../../base/errors.ts';
export { chsError } from '../errors.ts';
export { guardLimits, httpGuard, HttpGuard } from '../sdk/http-guard.ts';
export { Clocks, ConnClock } from '../sdk/conn-clock.ts';
export { answerAndClose, closingAnswer } from '../sdk/http-close.ts';
export { hasBareCrLfOrNul } from '../sdk/http-bytes.ts';
export { parseHostPort, formatAddress } from '../../base/address.ts';
export { normalizeAddress, isLoopback } from '../../base/peer.ts';
export { writeFileAtomic, readJsonFile, parseJsonText } from '../config/atomic.ts';
export { jsonEqual, diffJson, formatDiff } from '../config/diff.ts';
export { ChunkPool } from '../../base/bytes/chunk-pool.ts';
// File trees for ctx.mount: they live in the isolate; the host serves a proxy of them (./tree-proxy.ts).
export { SynDir, SynFile, SynCtl, dir, file, ctl, root } from '../../fs/tree/synthetic.ts';
export { SynStream, SynStreamFollow, StreamBuffer, StreamCursor, stream } from '../../fs/tree/stream.ts';
export { E, NineError } from '../../fs/errors.ts';
export { NodeAlias } from '../../fs/tree/alias.ts';
export { reusedOnread, readIntoReusedBuffer, retargetReusedRead } from '../../base/bytes/reused-read.ts';
