// Finds where a chunked body ends without copying or decoding it: the relay forwards the bytes as
// they are and only needs to know which of them still belong to this message.

const SIZE = 0, SIZE_MORE = 1, EXT = 2, SIZE_LF = 3, DATA = 4, DATA_CR = 5, DATA_LF = 6,
  TRAILER_START = 7, TRAILER_LINE = 8, TRAILER_LF = 9, FINAL_LF = 10, DONE = 11;

const MAX_TRAILER = 16 * 1024;

function hex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class ChunkedScanner {
  private s = SIZE;
  private size = 0;
  private digits = 0;
  private left = 0;
  private trailer = 0;

  get done(): boolean { return this.s === DONE; }

  /**
   * Scans `b` from `i`: returns the index just past the end of the body when it ends inside `b`,
   * or -1 when all of `b` belongs to it. Throws on a malformed chunked encoding.
   */
  scan(b: Uint8Array, i: number): number {
    const n = b.length;
    while (i < n) {
      if (this.s === DATA) {
        const take = Math.min(this.left, n - i);
        i += take;
        this.left -= take;
        if (this.left === 0) this.s = DATA_CR;
        continue;
      }
      const c = b[i++]!;
      switch (this.s) {
        case SIZE: {
          const h = hex(c);
          if (h < 0) throw new Error('bad chunk size');
          this.size = h;
          this.digits = 1;
          this.s = SIZE_MORE;
          break;
        }
        case SIZE_MORE: {
          const h = hex(c);
          if (h >= 0) {
            if (++this.digits > 12) throw new Error('chunk size too large');
            this.size = this.size * 16 + h;
          } else if (c === 59 || c === 32 || c === 9) this.s = EXT; // ';' or whitespace before an extension
          else if (c === 13) this.s = SIZE_LF;
          else throw new Error('bad chunk size');
          break;
        }
        case EXT:
          if (c === 13) this.s = SIZE_LF;
          else if (c === 10) throw new Error('bare LF in chunk extension');
          break;
        case SIZE_LF:
          if (c !== 10) throw new Error('chunk size line not ended by CRLF');
          if (this.size === 0) this.s = TRAILER_START;
          else { this.left = this.size; this.s = DATA; }
          break;
        case DATA_CR:
          if (c !== 13) throw new Error('chunk data not followed by CRLF');
          this.s = DATA_LF;
          break;
        case DATA_LF:
          if (c !== 10) throw new Error('chunk data not followed by CRLF');
          this.s = SIZE;
          break;
        case TRAILER_START:
          this.s = c === 13 ? FINAL_LF : TRAILER_LINE;
          break;
        case TRAILER_LINE:
          if (++this.trailer > MAX_TRAILER) throw new Error('trailer too large');
          if (c === 13) this.s = TRAILER_LF;
          break;
        case TRAILER_LF:
          if (c !== 10) throw new Error('trailer line not ended by CRLF');
          this.s = TRAILER_START;
          break;
        case FINAL_LF:
          if (c !== 10) throw new Error('chunked body not ended by CRLF');
          this.s = DONE;
          return i;
        default:
          return i - 1;
      }
    }
    return -1;
  }
}
