// Upload progress channels: an uploader opens a WebSocket at `<uploadPath>/progress?token=T`
// (before or while it POSTs with T) and receives JSON messages for the uploads made with T:
//   {"type":"progress","received":N,"total":T|null}   (at most every 64 KiB / 50 ms, and at 100%)
//   {"type":"done","sha256":...,"size":N,"url":...}
//   {"type":"error","status":413,"message":"..."}
// The channel map outlives a reload (it is handed over), so an open socket keeps its channel.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';

export type Channels = Map<string, Set<WebSocket>>;

export type ProgressMessage =
  | { type: 'progress'; received: number; total: number | null }
  | { type: 'done'; sha256: string; size: number; url: string; codings: string[] }
  | { type: 'error'; status: number; message: string };

export class Progress {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  constructor(readonly channels: Channels) {}

  /** Completes the upgrade for an accepted token and joins the socket to its channel. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, token: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      let set = this.channels.get(token);
      if (!set) { set = new Set(); this.channels.set(token, set); }
      const s = set;
      s.add(ws);
      ws.on('close', () => {
        s.delete(ws);
        if (s.size === 0 && this.channels.get(token) === s) this.channels.delete(token);
      });
      ws.on('error', () => ws.terminate());
      ws.send(JSON.stringify({ type: 'ready' }));
    });
  }

  has(token: string): boolean {
    return (this.channels.get(token)?.size ?? 0) > 0;
  }

  send(token: string, msg: ProgressMessage): void {
    const set = this.channels.get(token);
    if (!set) return;
    const text = JSON.stringify(msg);
    for (const ws of set) if (ws.readyState === 1) ws.send(text);
  }
}

/** Closes every progress socket (final stop). */
export function closeChannels(channels: Channels): void {
  for (const set of channels.values()) for (const ws of set) ws.close(1001, 'fileserver stopping');
  channels.clear();
}
