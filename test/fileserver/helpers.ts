// Helpers for the fileserver tests: raw HTTP requests (keep-alive, so the fast lane is used, or
// over a bare socket to send bytes node's client would refuse), and a node running the module.
import http from 'node:http';
import net from 'node:net';
import type { FileserverService } from '../../modules/fileserver/index.ts';
import type { TestHost } from '../helpers/project.ts';

export interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer }

export const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

export function request(url: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; agent?: http.Agent | false; timeoutMs?: number } = {}): Promise<Reply> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Sends `head` as is on a fresh socket; resolves with the status line's code and the raw reply. */
export function rawRequest(port: number, head: string, timeoutMs = 3_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`raw request: no full answer in ${timeoutMs} ms: ${JSON.stringify(text)}`)); }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      text += d;
      const m = /^HTTP\/1\.1 (\d{3})[^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(text);
      if (!m) return;
      const len = /content-length: (\d+)/i.exec(m[2]!);
      const bodyAt = m.index + m[0].length;
      if (!len || text.length - bodyAt >= Number(len[1])) {
        clearTimeout(timer);
        s.destroy();
        resolve({ status: Number(m[1]), text });
      }
    });
    s.on('error', (err) => { clearTimeout(timer); reject(err); });
    s.on('close', () => { clearTimeout(timer); if (!/^HTTP/.test(text)) reject(new Error(`raw request: closed without an answer`)); });
    s.write(head);
  });
}

export function service(th: TestHost, id = 'fileserver'): FileserverService {
  return th.host.instances.get(id)!.run!.service as FileserverService;
}

export function port(th: TestHost, id = 'fileserver'): number {
  return Number(new URL(service(th, id).url()).port);
}
