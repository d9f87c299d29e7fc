// The tree's log files (docs/9p.md, "Stream files"):
//   /log, /modules/M/log         readable lines as on the terminal; a growing file that never blocks
//   /log.follow, .../log.follow  the same bytes; a read at the end waits for the next line
//   /modules/M/log.query         write a query (`since=10m level=warn limit=100 follow`), read the
//                                matching records from the instance's log files as JSON lines, then
//                                (with follow) new ones as they come. `cheshire logs` reads this.
// All of them start from what the host's log store holds (ctx.host.logs / readLogs): the files
// under <stateDir>/logs, so history from before a restart is there.
import {
  E, SynFile, StreamBuffer, StreamCursor, formatRecord, matchesQuery, parseLogRequest, stream,
  type Handle, type HostControl, type LogRecord, type LogRequest, type OpenMode, type SynStream,
} from 'cheshire/sdk';

/** Text kept by each instance's log file and by the node's /log. */
export const INSTANCE_LOG_BYTES = 64 * 1024;
export const NODE_LOG_BYTES = 256 * 1024;
/** New records a log.query follower may fall behind by before the oldest unread ones are dropped. */
const QUERY_LIVE_BYTES = 4 * 1024 * 1024;

/** A log stream (name `log`) holding `records` as readable lines. */
export function logStream(records: readonly LogRecord[], history: number): SynStream {
  const s = stream('log', { history });
  const text = records.map((r) => formatRecord(r) + '\n').join('');
  if (text) s.append(text);
  return s;
}

/** The node's /log history: the recent records of the host and every instance, by time. */
export function nodeRecords(host: HostControl, ids: readonly string[], limit: number): LogRecord[] {
  const all = ids.flatMap((id) => host.logs(id, { limit }));
  all.sort((a, b) => a.time - b.time);
  return all.slice(-limit);
}

const enc = new TextEncoder();
const jsonLines = (records: readonly LogRecord[]): Uint8Array => enc.encode(records.map((r) => JSON.stringify(r) + '\n').join(''));

/**
 * /modules/M/log.query: one query per open fid (a read before any write runs the empty query:
 * every record in the files, up to 100,000). Reads follow the follow view's rules: they wait for
 * the answer, answer 0 bytes once after data, and two 0s in a row mean the answer is complete.
 */
export class LogQueryFile extends SynFile {
  private readonly open_ = new Set<() => void>();

  constructor(private readonly host: HostControl, private readonly id: string) {
    super('log.query', { read: () => '', write: () => {}, mode: 0o664 });
  }

  override markRemoved(): void {
    super.markRemoved();
    for (const end of [...this.open_]) end();
  }

  override open(_mode: OpenMode): Handle {
    const answer = new StreamBuffer(QUERY_LIVE_BYTES);
    const cursor = new StreamCursor(answer);
    let started = false;
    let failed: Error | undefined;
    let off: (() => void) | undefined;
    const end = (): void => {
      off?.();
      off = undefined;
      this.open_.delete(end);
      answer.finish();
    };
    this.open_.add(end);

    const start = (req: LogRequest): void => {
      started = true;
      // Subscribed before readLogs is called, in the same tick: readLogs returns exactly the
      // records logged before the call, so nothing is missed or repeated between the two.
      let queued: LogRecord[] | null = [];
      if (req.follow) {
        off = this.host.onLog((r) => {
          if (r.module !== this.id || !matchesQuery(r, { level: req.level })) return;
          if (queued) queued.push(r);
          else answer.append(jsonLines([r]));
        });
      }
      this.host.readLogs(this.id, req).then((records) => {
        answer.append(jsonLines(records.concat(queued ?? [])));
        queued = null;
        if (!req.follow) answer.finish();
      }, (err: unknown) => {
        failed = E.io.withText(`log.query: ${(err as Error).message}`);
        end();
      });
    };

    return {
      read: async (offset, count, signal) => {
        if (!started) start({ follow: false });
        const data = await cursor.follow(offset, count, signal, () => this.removed);
        if (failed && data.length === 0) throw failed;
        return data;
      },
      write: (_offset, data) => {
        if (started) throw E.invalid.withText('log.query: one query per open; open the file again for another');
        let req: LogRequest;
        try {
          req = parseLogRequest(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
        } catch (err) {
          throw E.invalid.withText((err as Error).message);
        }
        start(req);
        return data.length;
      },
      close: end,
    };
  }
}
