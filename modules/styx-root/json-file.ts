// A file that reads as JSON and applies what is written to it as JSON. Writes may arrive in
// several Twrites (a large document, a small msize): they are gathered per open fid, and the
// document is applied as soon as it parses whole; a bad document or a refused value fails that
// write with the reason as the 9P error text, and nothing is applied.
import { SynFile, E, type Handle, type OpenMode } from 'cheshire/sdk';

export interface JsonFileOptions {
  read: () => unknown;
  apply: (value: Record<string, unknown>) => Promise<void>;
}

/** True when `text` is a JSON prefix that more bytes could complete. */
function incomplete(text: string): boolean {
  try {
    JSON.parse(text);
    return false;
  } catch (err) {
    return /end of (JSON )?input|Unterminated/i.test((err as Error).message);
  }
}

export class JsonFile extends SynFile {
  constructor(name: string, private readonly json: JsonFileOptions) {
    super(name, { read: () => '', write: () => {}, mode: 0o664 });
  }

  override open(mode: OpenMode): Handle {
    let content: Uint8Array | undefined;
    let pending = Buffer.alloc(0);
    let start = 0; // file offset where the pending document begins
    const h: Handle = {
      read: async (offset, count) => {
        if (offset === 0n || !content) content = Buffer.from(JSON.stringify(this.json.read(), null, 2) + '\n');
        return content.subarray(Number(offset), Number(offset) + count);
      },
    };
    if (mode.write) {
      h.write = async (offset, data) => {
        const at = Number(offset);
        if (pending.length === 0) start = at;
        const rel = at - start;
        if (rel < 0 || rel > pending.length) throw E.badOffset.withText('config: writes must be contiguous');
        pending = Buffer.concat([pending.subarray(0, rel), Buffer.from(data)]);
        const text = pending.toString('utf8');
        if (text.trim() === '') {
          pending = Buffer.alloc(0); // whitespace after a document (echo's newline in its own write)
          return data.length;
        }
        if (incomplete(text)) return data.length;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          throw E.badMode.withText(`config: not JSON: ${(err as Error).message}`);
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw E.badMode.withText('config: expected a JSON object');
        try {
          await this.json.apply(value as Record<string, unknown>);
        } catch (err) {
          throw E.badMode.withText((err as Error).message);
        }
        pending = Buffer.alloc(0);
        this.mtimeMs = Date.now();
        return data.length;
      };
    }
    return h;
  }
}
