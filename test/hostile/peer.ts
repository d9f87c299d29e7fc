// A hostile 9P peer: a raw TCP connection from a chosen loopback address (Linux routes all of
// 127/8 to lo, so 127.0.0.2, .3 ... stand for other machines) that sends what it is told, byte by
// byte if asked, decodes what comes back and records who closed the connection and when.
// Every wait has a deadline; Peer.destroyAll() closes whatever a test left open.
import { connect, type Socket } from 'node:net';
import { decode, encode, FrameSplitter, MSG } from '../../fs/codec/index.ts';
import type { Dialect, Msg } from '../../fs/codec/index.ts';
import { withDeadline } from '../../fs/testing/raw.ts';

const all = new Set<Peer>();

export class Peer {
  readonly frames: Msg[] = [];
  /** Every frame received in arrival order, while `recording` (clear it when done). */
  readonly seen: Msg[] = [];
  recording = false;
  readonly openedAt = Date.now();
  closedAt = 0;
  closed = false;
  /** We destroyed it (as opposed to the server closing it). */
  closedByUs = false;
  sent = 0;
  private trickler: NodeJS.Timeout | undefined;
  private readonly splitter = new FrameSplitter(16 << 20);
  private waiters: Array<() => void> = [];
  readonly done: Promise<void>;

  private constructor(readonly socket: Socket, public dialect: Dialect) {
    all.add(this);
    this.done = new Promise((resolve) => socket.once('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.stopTrickle();
      all.delete(this);
      this.wake();
      resolve();
    }));
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('data', (c: Buffer) => {
      try {
        for (const f of this.splitter.push(c)) {
          const m = decode(f, this.dialect);
          this.frames.push(m);
          if (this.recording) this.seen.push(m);
        }
      } catch {
        this.frames.push({ type: 'Rerror', tag: 0, ename: 'undecodable reply' } as Msg);
      }
      this.wake();
    });
  }

  static async open(port: number, from: string, dialect: Dialect = '9P2000.u', ms = 3000): Promise<Peer> {
    const socket = connect({ host: '127.0.0.1', port, localAddress: from });
    const p = new Peer(socket, dialect);
    try {
      await withDeadline(new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }), ms, `TCP connect from ${from} to port ${port}`);
    } catch (err) {
      p.destroy();
      throw err;
    }
    return p;
  }

  send(m: Msg | Uint8Array): void {
    if (this.closed) return;
    const b = m instanceof Uint8Array ? m : encode(m);
    this.sent += b.length;
    this.socket.write(b);
  }

  /** Sends a Twrite of `data` without copying it (a header, then the caller's buffer). */
  twrite(tag: number, fid: number, offset: number, data: Uint8Array): void {
    if (this.closed) return;
    const h = Buffer.alloc(23);
    h.writeUInt32LE(23 + data.length, 0);
    h[4] = MSG.Twrite;
    h.writeUInt16LE(tag, 5);
    h.writeUInt32LE(fid, 7);
    h.writeBigUInt64LE(BigInt(offset), 11);
    h.writeUInt32LE(data.length, 19);
    this.sent += h.length + data.length;
    this.socket.cork();
    this.socket.write(h);
    this.socket.write(data);
    this.socket.uncork();
  }

  /** Sends `bytes` one byte every `everyMs` (a slow-loris sender), stopping when done or closed. */
  trickle(bytes: Uint8Array, everyMs: number): void {
    let i = 0;
    this.trickler = setInterval(() => {
      if (this.closed || i >= bytes.length) { this.stopTrickle(); return; }
      this.sent++;
      this.socket.write(bytes.subarray(i, ++i));
    }, everyMs);
  }

  stopTrickle(): void {
    if (this.trickler) clearInterval(this.trickler);
    this.trickler = undefined;
  }

  /** The first frame with `tag` (kept frames stay); throws naming `what` at the deadline or if the server closed first. */
  async reply(tag: number, what: string, ms = 3000): Promise<Msg> {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => f.tag === tag);
      if (i >= 0) return this.frames.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`connection closed before ${what}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`nothing within ${ms} ms while waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  async rpc(m: Msg, ms = 3000): Promise<Msg> {
    this.send(m);
    return this.reply(m.tag, `the reply to ${m.type} tag ${m.tag}`, ms);
  }

  async waitClosed(what: string, ms = 3000): Promise<void> {
    await withDeadline(this.done, ms, what);
  }

  destroy(): void {
    this.stopTrickle();
    if (!this.closed) this.closedByUs = true;
    this.socket.destroy();
  }

  static destroyAll(): void {
    for (const p of [...all]) p.destroy();
  }
}

/** Opens `n` peers spread over `addresses` (round robin), `concurrency` at a time. */
export async function openMany(port: number, n: number, addresses: string[], dialect: Dialect = '9P2000.u', concurrency = 32): Promise<Peer[]> {
  const out: Peer[] = [];
  for (let i = 0; i < n; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - i) }, (_, j) => Peer.open(port, addresses[(i + j) % addresses.length]!, dialect));
    out.push(...await Promise.all(batch));
  }
  return out;
}
