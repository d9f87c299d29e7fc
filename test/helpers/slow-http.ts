// Raw HTTP clients for the limits tests: a TCP connection that writes what it is told, or trickles
// bytes one at a time at an interval (a slow-loris sender), collects everything it receives and
// says when it was closed. Every wait has a deadline and names what it waited for; closeAll()
// destroys whatever a test left open.
import net from 'node:net';
import * as assert from 'uvu/assert';
import { waitFor } from './project.ts';

const open = new Set<HttpConn>();

export class HttpConn {
  text = '';
  closed = false;
  readonly openedAt = Date.now();
  closedAt = 0;
  sent = 0;
  private trickler: NodeJS.Timeout | undefined;

  private constructor(readonly sock: net.Socket) {
    open.add(this);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => { this.text += d; });
    sock.on('error', () => { /* 'close' follows */ });
    sock.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
      this.stopTrickle();
      open.delete(this);
    });
  }

  /** Connects to 127.0.0.1:port (from `localAddress` if given). */
  static connect(port: number, localAddress?: string, ms = 3000): Promise<HttpConn> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ port, host: '127.0.0.1', localAddress });
      const c = new HttpConn(sock);
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no connection to port ${port} in ${ms} ms`)); }, ms);
      sock.once('connect', () => { clearTimeout(timer); resolve(c); });
      sock.once('error', (err) => { clearTimeout(timer); reject(err); });
    });
  }

  write(data: string | Buffer): void {
    if (this.closed) return;
    this.sent += data.length;
    this.sock.write(data);
  }

  /** Writes `data` one byte every `everyMs` (repeating it once done, if `repeat`), until closed. */
  trickle(data: string, everyMs: number, repeat = true): void {
    let i = 0;
    this.trickler = setInterval(() => {
      if (this.closed || this.sock.destroyed) { this.stopTrickle(); return; }
      if (i >= data.length) {
        if (!repeat) { this.stopTrickle(); return; }
        i = 0;
      }
      this.write(data[i++]!);
    }, everyMs);
  }

  stopTrickle(): void {
    if (this.trickler) clearInterval(this.trickler);
    this.trickler = undefined;
  }

  /** Status codes of the answers received so far. */
  statuses(): number[] {
    return [...this.text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
  }

  async waitText(re: RegExp, what: string, ms = 3000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      if (this.closed) throw new Error(`closed before ${what}; received ${JSON.stringify(this.text.slice(0, 300))}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; received ${JSON.stringify(this.text.slice(0, 300))}`);
      await sleep(5);
    }
  }

  /** Waits until `n` complete answers (head + Content-Length body) arrived. */
  async waitAnswers(n: number, what: string, ms = 3000): Promise<number[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = completeAnswers(this.text);
      if (got.length >= n) return got;
      if (this.closed) throw new Error(`closed before ${what}; received ${JSON.stringify(this.text.slice(0, 300))}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; received ${JSON.stringify(this.text.slice(0, 300))}`);
      await sleep(5);
    }
  }

  async waitClosed(what: string, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} (connection still open; received ${JSON.stringify(this.text.slice(0, 300))})`);
      await sleep(5);
    }
  }

  destroy(): void {
    this.stopTrickle();
    this.sock.destroy();
  }
}

/** Status codes of the complete answers (with their Content-Length bodies) in `text`. */
function completeAnswers(text: string): number[] {
  const out: number[] = [];
  let at = 0;
  for (;;) {
    const m = /HTTP\/1\.[01] (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/y;
    m.lastIndex = at;
    const r = m.exec(text);
    if (!r) return out;
    const bodyAt = r.index + r[0].length;
    let end: number;
    if (/transfer-encoding: *chunked/i.test(r[2]!)) {
      const last = text.indexOf('0\r\n\r\n', bodyAt); // good enough for the short bodies of these tests
      if (last < 0) return out;
      end = last + 5;
    } else {
      end = bodyAt + Number(/content-length: *(\d+)/i.exec(r[2]!)?.[1] ?? 0);
      if (text.length < end) return out;
    }
    out.push(Number(r[1]));
    at = end;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Destroys every connection still open. */
export function closeAll(): void {
  for (const c of [...open]) c.destroy();
}

/**
 * An HTTP guard's per-address cap, on a port whose maxPerAddress is `cap`: `cap` connections from
 * one address are served and held; the next gets `429` with `Connection: close` and the module's
 * refusal `code` (logged too), and is closed, the held ones untouched; once one goes, a new
 * connection is served again.
 */
export async function assertPerAddressCap(o: { port: number; host: string; cap: number; code: string; logged: (code: string) => boolean }): Promise<void> {
  const request = `GET / HTTP/1.1\r\nHost: ${o.host}\r\n\r\n`;
  const held: HttpConn[] = [];
  for (let i = 0; i < o.cap; i++) {
    const c = await HttpConn.connect(o.port);
    c.write(request);
    assert.equal(await c.waitAnswers(1, `held connection ${i} answered`), [200]);
    held.push(c);
  }
  const extra = await HttpConn.connect(o.port);
  extra.write(request);
  await extra.waitClosed('the connection over the cap to be closed');
  assert.equal(extra.statuses(), [429]);
  assert.match(extra.text, /Connection: close/);
  assert.match(extra.text, o.code);
  assert.ok(o.logged(o.code));
  for (const c of held) assert.not.ok(c.closed, 'a held connection was closed');

  held.pop()!.destroy();
  await waitFor('a new connection to be admitted once one went', async () => {
    const c = await HttpConn.connect(o.port);
    c.write(request);
    try {
      return (await c.waitAnswers(1, 'an answer'))[0] === 200;
    } catch {
      return false;
    } finally {
      c.destroy();
    }
  }, 3000, 50);
  for (const c of held) c.destroy();
}
