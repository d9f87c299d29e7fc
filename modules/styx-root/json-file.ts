// A file that reads as JSON and applies what is written to it as JSON. Writes may arrive in
// several Twrites (a large document, a small msize): they are gathered per open fid, and the
// document is applied as soon as it is whole; a bad document or a refused value fails that
// write with the reason as the 9P error text, and nothing is applied. What one fid gathers is
// capped (MAX_DOCUMENT, EFBIG past it). Each byte is scanned once as it arrives (strings, escapes,
// nesting), so the document is parsed once, when its top-level object closes or a bracket does
// not match. Gathering 96 MiB and re-parsing it on every write once cost 492 MB and 0.8 s stalls
// per write; parsing whenever the bytes so far ended in `}` still let writes that each end in `}`
// (inside a string) cost the square of the document's size (test/hostile/config-flood.test.ts).
import { SynFile, E, type Handle, type OpenMode } from 'cheshire/sdk';

/** The largest document one fid may gather (a module config is a few KiB). */
export const MAX_DOCUMENT = 1024 * 1024;
/** A document may be rescanned (writes into bytes already gathered) up to this many bytes in all. */
export const MAX_SCANNED = 8 * MAX_DOCUMENT;

export interface JsonFileOptions {
  read: () => unknown;
  apply: (value: Record<string, unknown>) => Promise<void>;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const isBlank = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

/**
 * One document's bytes as they arrive, scanned once each (strings, escapes, nesting) to tell when
 * the top-level value has closed, or cannot be JSON (a `]` closing a `{`). A write into bytes
 * already gathered (a client rewriting a page) cuts the document there and rescans it from the
 * start, within MAX_SCANNED.
 */
class Gathered {
  private buf = Buffer.alloc(0);
  length = 0;
  /** The first non-blank byte, -1 while there is none. */
  first = -1;
  /** The top-level value has closed, or a bracket did not match: the document is parsed now. */
  settled = false;
  scanned = 0;
  private inString = false;
  private escape = false;
  /** The open brackets, innermost last. */
  private stack = new Uint8Array(64);
  private depth = 0;

  /** Cuts the document back to its first `n` bytes and rescans them; false past MAX_SCANNED. */
  truncate(n: number): boolean {
    if (n >= this.length) return true;
    this.length = n;
    this.first = -1;
    this.settled = this.inString = this.escape = false;
    this.depth = 0;
    return this.scan(0, n);
  }

  /** Appends a copy of `data` (a view of the connection's read buffer) and scans it. */
  append(data: Uint8Array): boolean {
    const from = this.length;
    const end = from + data.length;
    if (end > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_DOCUMENT, Math.max(end, 2 * this.buf.length, 4096)));
      this.buf.copy(grown, 0, 0, from);
      this.buf = grown;
    }
    this.buf.set(data, from);
    this.length = end;
    return this.scan(from, end);
  }

  text(): string { return this.buf.toString('utf8', 0, this.length); }

  private scan(from: number, to: number): boolean {
    this.scanned += to - from;
    if (this.scanned > MAX_SCANNED) return false;
    const b = this.buf;
    for (let i = from; i < to && !this.settled; i++) {
      const c = b[i]!;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (isBlank(c)) continue;
      if (this.first < 0) this.first = c;
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.push(c);
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        const open = this.depth > 0 ? this.stack[--this.depth] : -1;
        if (open !== (c === CLOSE_BRACE ? OPEN_BRACE : OPEN_BRACKET) || this.depth === 0) this.settled = true;
      }
    }
    return true;
  }

  private push(c: number): void {
    if (this.depth === this.stack.length) {
      const grown = new Uint8Array(this.stack.length * 2);
      grown.set(this.stack);
      this.stack = grown;
    }
    this.stack[this.depth++] = c;
  }
}

export class JsonFile extends SynFile {
  constructor(name: string, private readonly json: JsonFileOptions) {
    super(name, { read: () => '', write: () => {}, mode: 0o664 });
  }

  override open(mode: OpenMode): Handle {
    let content: Uint8Array | undefined;
    let doc = new Gathered();
    let start = 0; // file offset where the gathered document begins
    const h: Handle = {
      read: async (offset, count) => {
        if (offset === 0n || !content) content = Buffer.from(JSON.stringify(this.json.read(), null, 2) + '\n');
        return content.subarray(Number(offset), Number(offset) + count);
      },
    };
    if (mode.write) {
      // Synchronous while gathering (the bytes are copied): the session then answers in place
      // and reuses its read buffer; only the write that completes a document returns a promise.
      h.write = (offset, data) => {
        const at = Number(offset);
        if (doc.length === 0) start = at;
        const rel = at - start;
        if (rel < 0 || rel > doc.length) throw E.badOffset.withText('config: writes must be contiguous');
        if (rel + data.length > MAX_DOCUMENT) {
          doc = new Gathered();
          throw E.tooBig.withText(`CHS_ERR_CONFIG_TOO_LARGE: config: a document over ${MAX_DOCUMENT} bytes was refused; nothing was applied`);
        }
        if (!doc.truncate(rel) || !doc.append(data)) {
          doc = new Gathered();
          throw E.tooBig.withText(`CHS_ERR_CONFIG_TOO_LARGE: config: a document rewritten over ${MAX_SCANNED} bytes in all was refused; nothing was applied`);
        }
        const { first, settled } = doc;
        if (first < 0) {
          doc = new Gathered(); // whitespace after a document (echo's newline in its own write)
          return data.length;
        }
        if (first !== OPEN_BRACE) {
          doc = new Gathered();
          throw E.badMode.withText('config: expected a JSON object');
        }
        if (!settled) return data.length;
        // Whole (or invalid): parsed once, applied or refused; the next write starts a new document.
        const text = doc.text();
        doc = new Gathered();
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          throw E.badMode.withText(`config: not JSON: ${(err as Error).message}`);
        }
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw E.badMode.withText('config: expected a JSON object');
        return this.json.apply(value as Record<string, unknown>).then(() => {
          this.mtimeMs = Date.now();
          return data.length;
        }, (err: unknown) => {
          throw E.badMode.withText((err as Error).message);
        });
      };
    }
    return h;
  }
}
