// The type-check worker thread: answers one CheckRequest at a time with the module's
// diagnostics. The host cancels the running request by writing its id into the shared flag
// (a message could not be read while a check runs synchronously).
import { parentPort, workerData } from 'node:worker_threads';
import { ts } from './ts.ts';
import { ModuleChecks } from './service.ts';
import type { CheckReply, CheckRequest } from './types.ts';

const port = parentPort!;
const cancel = new Int32Array((workerData as { cancel: SharedArrayBuffer }).cancel);
const checks = new ModuleChecks();

port.on('message', (req: CheckRequest) => {
  const started = performance.now();
  let reply: CheckReply;
  try {
    const diagnostics = checks.check(req.unit, () => Atomics.load(cancel, 0) === req.id);
    reply = { id: req.id, kind: 'done', diagnostics, ms: performance.now() - started };
  } catch (err) {
    reply = err instanceof ts.OperationCanceledException
      ? { id: req.id, kind: 'cancelled' }
      : { id: req.id, kind: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(reply);
});
