// Device-like synthetic files: `zero` (reads return `count` zero bytes at any offset, like
// /dev/zero) and `nullFile` (writes are accepted and dropped, reads are EOF, like /dev/null).
// diodload copies ctl:zero to ctl:null, and the benchmarks use both to measure the server alone.

import { QTFILE } from '../codec/constants.ts';
import type { Qid } from '../codec/messages.ts';
import type { Attr, Handle, Node } from './types.ts';
import { skewedBuffer } from '../../base/bytes/skewed-buffer.ts';

let lastPath = 1n << 62n; // apart from the synthetic tree's counter

/**
 * Skewed in its page (core/sdk/skewed-buffer.ts): as a plain `new Uint8Array(1 << 20)` (a fresh
 * mapping, data at offset 16 of a page) diodload's read/write pairs on one connection ran at
 * ~0.75x of diod; skewed, at ~0.95x (bench/9p.md, third round).
 */
const ZEROES = skewedBuffer(1 << 20).fill(0);
const EMPTY = new Uint8Array(0);

function attr(mode: number): Attr {
  const now = Date.now();
  return { mode, size: 0n, atimeMs: now, mtimeMs: now, ctimeMs: now, uid: 'cheshire', gid: 'cheshire', muid: 'cheshire', nUid: 0, nGid: 0, nlink: 1 };
}

class Device implements Node {
  readonly qid: Qid = { type: QTFILE, version: 0, path: ++lastPath };
  private readonly a: Attr;
  constructor(readonly name: string, private readonly handle: Handle, mode: number) { this.a = attr(mode); }
  getattr(): Attr { return this.a; }
  setattr(): void { /* truncation of a device is a no-op */ }
  open(): Handle { return this.handle; }
}

export function zero(name = 'zero'): Node {
  return new Device(name, {
    ignoresSignal: true,
    read: (_offset, count) => (count <= ZEROES.length ? ZEROES.subarray(0, count) : new Uint8Array(count)),
    write: (_offset, data) => data.length,
  }, 0o666);
}

export function nullFile(name = 'null'): Node {
  return new Device(name, { ignoresSignal: true, read: () => EMPTY, write: (_offset, data) => data.length }, 0o666);
}
