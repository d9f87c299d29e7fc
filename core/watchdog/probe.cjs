// @ts-check
// The watchdog's worker thread (plain CommonJS, started with execArgv [] so tsx is not loaded
// into it: ~30 ms to ready instead of ~0.5 s). Its own event loop keeps ticking while the main
// thread's is stuck. It watches the heartbeat counter the main thread bumps every ~100 ms in a
// SharedArrayBuffer and, when the counter has not moved for `blockedMs`, samples what the main
// thread is running through the inspector (connectToMainThread: Debugger.enable, pause, read the
// top frames, ask the main thread's attribution hook who owns them while it is paused, resume,
// disconnect) and posts the sample back; the main thread acts on it once it is free. When the
// counter has not moved for `killAfterMs` (a `while (true)`), nobody in the main thread ever will:
// it writes the crash record and a line on fd 2 itself and ends the process with exit code 70.
// Layout of the shared Int32Array: [0] beat, [1] blockedMs, [2] killAfterMs (0: never), [3] enabled,
// [4] time of the last beat (ms since workerData.base): a stall is timed from the main thread's
// last beat, not from when this thread (which may start late, during the stall) first looked.
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const fs = require('node:fs');

const shared = new Int32Array(workerData.sab);
/** @type {boolean} false when the inspector is missing or a debugger (--inspect) owns pausing. */
const canPause = workerData.canPause;
const HOOK = workerData.hook;
const EXIT_CODE = 70;
let inspector = null;
if (canPause) {
  try { inspector = require('node:inspector'); } catch { inspector = null; }
}

let recordFile = null;
let last = Atomics.load(shared, 0);
let sampled = false;
let killed = false;
/** The last sample of the current stall (for the crash record). */
let lastSample = null;

/** A sample is between its pause and its resume (the main thread may be paused by us). */
let inFlight = false;
/** The main thread asked us to stop: no new sample; 'stopped' once none is in flight. */
let stopping = false;

parentPort.on('message', (m) => {
  if (m && m.kind === 'record-file') recordFile = m.file;
  if (m && m.kind === 'stop') {
    stopping = true;
    if (!inFlight) parentPort.postMessage({ kind: 'stopped' });
  }
});

setInterval(() => {
  const beat = Atomics.load(shared, 0);
  if (beat !== last) {
    last = beat;
    sampled = false;
    lastSample = null;
    return;
  }
  if (stopping || !Atomics.load(shared, 3)) return;
  const stuck = Date.now() - (workerData.base + Atomics.load(shared, 4));
  const blockedMs = Atomics.load(shared, 1);
  const killAfterMs = Atomics.load(shared, 2);
  if (!sampled && stuck >= blockedMs) {
    sampled = true;
    sample(beat, stuck);
  }
  if (!killed && killAfterMs > 0 && stuck >= killAfterMs) {
    killed = true;
    kill(stuck);
  }
}, 50);

/** Pauses the main thread once, reads where it is, resumes it; posts { kind: 'sample', ... }. */
function sample(beat, stuck) {
  const t0 = performance.now();
  inFlight = true;
  const post = (extra) => {
    inFlight = false;
    lastSample = { kind: 'sample', beat, stuckMs: stuck, sampleMs: Math.round((performance.now() - t0) * 10) / 10, ...extra };
    parentPort.postMessage(lastSample);
    if (stopping) parentPort.postMessage({ kind: 'stopped' });
  };
  if (!inspector) return post({ top: null, frames: [], error: canPause ? 'inspector unavailable' : 'a debugger is attached (--inspect): not sampling' });
  let session;
  try {
    session = new inspector.Session();
    session.connectToMainThread();
  } catch (err) {
    return post({ top: null, frames: [], error: `inspector: ${err && err.message}` });
  }
  const urls = new Map();
  session.on('Debugger.scriptParsed', (m) => urls.set(m.params.scriptId, m.params.url));
  const done = (extra) => {
    try { session.disconnect(); } catch { /* gone */ }
    post(extra);
  };
  session.once('Debugger.paused', (m) => {
    // The counter moved: the stall ended before the pause landed; these frames are someone else's.
    if (Atomics.load(shared, 0) !== beat) {
      session.post('Debugger.resume', () => done({ top: null, frames: [], error: 'the stall ended before the sample' }));
      return;
    }
    const callFrames = m.params.callFrames.slice(0, 12);
    const frames = callFrames.map((f) => ({ fn: f.functionName, url: urls.get(f.location.scriptId) || '', line: f.location.lineNumber + 1, col: f.location.columnNumber + 1 }));
    const expression = `(globalThis[Symbol.for(${JSON.stringify(HOOK)})] || (() => null))(${JSON.stringify(frames)})`;
    session.post('Debugger.evaluateOnCallFrame', { callFrameId: callFrames[0].callFrameId, expression, returnByValue: true, silent: true }, (err, r) => {
      const top = !err && r && r.result && r.result.value ? r.result.value : null;
      session.post('Debugger.resume', () => session.post('Debugger.disable', () => done({ top, frames, error: err ? String(err.message) : undefined })));
    });
  });
  session.post('Debugger.enable', (err) => {
    if (err) return done({ top: null, frames: [], error: `Debugger.enable: ${err.message}` });
    session.post('Debugger.pause', (e) => { if (e) done({ top: null, frames: [], error: `Debugger.pause: ${e.message}` }); });
  });
}

/** The main thread will never be free again: record the culprit, say it on fd 2, end the process. */
function kill(stuck) {
  const top = lastSample && lastSample.top;
  const record = {
    pid: process.pid,
    at: new Date().toISOString(),
    ms: stuck,
    module: top ? top.id : null,
    where: top ? top.where : (lastSample && lastSample.frames[0] ? `${lastSample.frames[0].url}:${lastSample.frames[0].line}:${lastSample.frames[0].col}` : null),
    frames: lastSample ? lastSample.frames : [],
    exitCode: EXIT_CODE,
  };
  const line = `cheshire watchdog: event loop blocked for ${stuck} ms in ${record.module || 'unknown code'}${record.where ? ` at ${record.where}` : ''}; ending the process (exit ${EXIT_CODE})\n`;
  // fd 2 directly: process.stderr in a worker is piped through the (stuck) main thread.
  try { fs.writeSync(2, line); } catch { /* nowhere to say it */ }
  if (recordFile) {
    try {
      fs.writeFileSync(`${recordFile}.tmp`, JSON.stringify(record, null, 2));
      fs.renameSync(`${recordFile}.tmp`, recordFile);
    } catch (err) {
      try { fs.writeSync(2, `cheshire watchdog: cannot write ${recordFile}: ${err && err.message}\n`); } catch { /* ignore */ }
    }
  }
  // process.exit() here would end only this thread. The main thread runs an inspector request
  // even inside `while (true)` (V8 interrupt): reallyExit ends the process with our code, without
  // running 'exit' handlers (they would run on a stuck loop's state). SIGKILL if that fails.
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), 2000);
  if (!inspector) return process.kill(process.pid, 'SIGKILL');
  try {
    const s = new inspector.Session();
    s.connectToMainThread();
    s.post('Runtime.evaluate', { expression: `process.reallyExit(${EXIT_CODE})` });
  } catch {
    process.kill(process.pid, 'SIGKILL');
  }
}
