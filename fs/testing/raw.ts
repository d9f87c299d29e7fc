// A raw-frame 9P connection for tests: send any message (or any bytes), receive decoded replies,
// every wait bounded by a deadline whose failure names what was awaited.

import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { decode, encode, FrameSplitter, NOTAG } from '../codec/index.ts';
import type { Dialect, Msg } from '../codec/index.ts';

export const DEADLINE_MS = 3000;

export type Body<T> = T extends unknown ? Omit<T, 'tag'> : never;

export class RawConn {
  private readonly frames: Uint8Array[] = [];
  private waiters: Array<() => void> = [];
  private readonly splitter = new FrameSplitter(0xffffffff);
  isClosed = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket, public dialect: Dialect) {
    this.closed = new Promise((resolve) => socket.once('close', () => { this.isClosed = true; this.wake(); resolve(); }));
    socket.on('data', (c: Buffer) => {
      for (const f of this.splitter.push(c)) this.frames.push(f);
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, dialect: Dialect = '9P2000.L'): Promise<RawConn> {
    const socket = connect({ host: '127.0.0.1', port });
    await withDeadline(new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }), DEADLINE_MS, `TCP connect to 127.0.0.1:${port}`);
    return new RawConn(socket, dialect);
  }

  /** Connects and negotiates `dialect` with msize (default 8192). */
  static async negotiated(port: number, dialect: Dialect = '9P2000.L', msize = 8192): Promise<RawConn> {
    const c = await RawConn.open(port, dialect);
    const r = await c.rpc({ type: 'Tversion', tag: NOTAG, msize, version: dialect });
    if (r.type !== 'Rversion' || r.version !== dialect) throw new Error(`version ${dialect} refused: ${JSON.stringify(r)}`);
    return c;
  }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  send(msg: Msg): void { this.socket.write(encode(msg)); }
  sendBytes(b: Uint8Array): void { this.socket.write(b); }

  /** The next frame from the server, decoded in the connection's dialect. */
  async next(what = 'a reply', ms = DEADLINE_MS): Promise<Msg> {
    const f = await this.nextFrame(what, ms);
    return decode(f, this.dialect);
  }

  async nextFrame(what = 'a reply', ms = DEADLINE_MS): Promise<Uint8Array> {
    const deadline = Date.now() + ms;
    while (this.frames.length === 0) {
      if (this.isClosed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${ms} ms while waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.frames.shift()!;
  }

  private lastTag = 0;
  /** A fresh tag (1..60000, cycling). */
  tag(): number { this.lastTag = (this.lastTag % 60000) + 1; return this.lastTag; }

  /** rpc with a fresh tag. */
  call(body: Body<Msg>, ms = DEADLINE_MS): Promise<Msg> {
    return this.rpc({ ...body, tag: this.tag() } as Msg, ms);
  }

  /** Sends and waits for the reply with the same tag (other frames are kept in order). */
  async rpc(msg: Msg, ms = DEADLINE_MS): Promise<Msg> {
    this.send(msg);
    return this.reply(msg.tag, `reply to ${msg.type} tag ${msg.tag}`, ms);
  }

  async reply(tag: number, what: string, ms = DEADLINE_MS): Promise<Msg> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => (f[5]! | (f[6]! << 8)) === tag);
      if (i >= 0) return decode(this.frames.splice(i, 1)[0]!, this.dialect);
      if (this.isClosed) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Resolves true if nothing arrives (no frame with `tag`, or none at all) for `ms`. */
  async silent(ms: number, tag?: number): Promise<boolean> {
    await new Promise((r) => setTimeout(r, ms));
    return tag === undefined ? this.frames.length === 0 : !this.frames.some((f) => (f[5]! | (f[6]! << 8)) === tag);
  }

  pendingFrames(): number { return this.frames.length; }

  async waitClosed(what: string, ms = DEADLINE_MS): Promise<void> {
    await withDeadline(this.closed, ms, what);
  }

  close(): void { this.socket.destroy(); }
}

export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms); }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error reply's errno (.L) or text (9P2000), or undefined for a success reply. */
export function errorOf(m: Msg): string | number | undefined {
  if (m.type === 'Rlerror') return m.ecode;
  if (m.type === 'Rerror') return m.ename;
  return undefined;
}
