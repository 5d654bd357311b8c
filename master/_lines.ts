/**
 * Splits a byte stream into lines, chunk by chunk, without decoding: each
 * line is handed over as a range of a buffer, so the common case (a plain
 * line relayed to a text log) never builds a string. A line longer than
 * `maxLine` bytes is handed over as consecutive parts of at most `maxLine`
 * bytes (cut between UTF-8 characters), so nothing is dropped and memory
 * stays bounded.
 *
 * @module
 */

/**
 * Receives one line, or one part of a long one: `buf[start..end)`, without
 * the newline or a trailing `\r`. `part` is 0 for a whole line, else the
 * part's rank (1…), and `last` says whether it ends the line. The range is
 * only valid during the call.
 */
export type LineHandler = (
  buf: Uint8Array,
  start: number,
  end: number,
  part: number,
  last: boolean,
) => void;

/** Default longest line handed over whole, in bytes. */
export const MAX_LINE = 64 * 1024;

/**
 * Where to cut `buf[0..end)` so that no UTF-8 character is split: `end`, or
 * the start of a character the cut would split (when that is not 0).
 */
export function utf8Cut(buf: Uint8Array, end: number): number {
  for (let i = end - 1; i >= 0 && i >= end - 3; i--) {
    const b = buf[i]!;
    if (b < 0x80) return end; // ASCII: the cut is between characters
    if (b >= 0xc0) { // a lead byte: does its character fit before `end`?
      if (b > 0xf4) return end; // not UTF-8
      const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
      return i + len > end && i > 0 ? i : end;
    }
  }
  return end;
}

/** The buffer of every splitter that holds no partial line yet: nothing is ever written to it. */
const NONE = new Uint8Array(0);

/** A line splitter for one stream. */
export class LineSplitter {
  readonly #onLine: LineHandler;
  readonly #max: number;
  #partial: Uint8Array = NONE; // grown (replaced) before anything is kept
  #plen = 0;
  #part = 0; // parts of the current line handed over so far

  /** Creates a splitter calling `onLine` for each line. */
  constructor(onLine: LineHandler, maxLine: number = MAX_LINE) {
    this.#onLine = onLine;
    this.#max = Math.max(4, maxLine);
  }

  /** Feeds a chunk; calls the handler for each line (or part) it completes. */
  push(chunk: Uint8Array): void {
    let nl = chunk.indexOf(10);
    if (nl < 0) {
      this.#append(chunk, 0, chunk.length);
      return;
    }
    let start = 0;
    if (this.#plen > 0 || this.#part > 0) {
      this.#append(chunk, 0, nl);
      this.#endLine();
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    const max = this.#max;
    while (nl >= 0) {
      let end = nl;
      if (end > start && chunk[end - 1] === 13) end--;
      if (end - start <= max) this.#onLine(chunk, start, end, 0, false);
      else {
        this.#append(chunk, start, nl);
        this.#endLine();
      }
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.#append(chunk, start, chunk.length);
  }

  /** Ends the stream: a last line without newline is still handed over. */
  flush(): void {
    if (this.#plen > 0 || this.#part > 0) this.#endLine();
  }

  /** Hands over what is kept of the current line as a whole line or its last part(s). */
  #endLine(): void {
    const buf = this.#partial;
    let end = this.#plen;
    if (end > 0 && buf[end - 1] === 13) end--;
    let start = 0;
    if (end > this.#max) { // one byte over: kept in case it was the \r of a CRLF
      start = utf8Cut(buf, this.#max);
      this.#onLine(buf, 0, start, ++this.#part, false);
    }
    const part = this.#part;
    this.#plen = 0;
    this.#part = 0;
    if (part === 0) this.#onLine(buf, start, end, 0, false);
    else this.#onLine(buf, start, end, part + 1, true);
  }

  /**
   * Keeps `chunk[start..end)` (no newline in it), handing over full parts;
   * keeps up to `max + 1` bytes, the last one maybe the `\r` of a CRLF.
   */
  #append(chunk: Uint8Array, start: number, end: number): void {
    const max = this.#max;
    while (this.#plen + (end - start) > max + 1) {
      // the line is longer than max: hand over its next part
      const take = max - this.#plen;
      this.#grow(max + 1);
      this.#partial.set(chunk.subarray(start, start + take), this.#plen);
      start += take;
      const cut = utf8Cut(this.#partial, max);
      this.#onLine(this.#partial, 0, cut, ++this.#part, false);
      this.#partial.copyWithin(0, cut, max);
      this.#plen = max - cut;
    }
    const n = end - start;
    if (n === 0) return;
    this.#grow(this.#plen + n);
    this.#partial.set(chunk.subarray(start, end), this.#plen);
    this.#plen += n;
  }

  #grow(size: number): void {
    if (size <= this.#partial.length) return;
    const next = new Uint8Array(Math.max(size, Math.min(this.#max + 1, this.#partial.length * 2)));
    next.set(this.#partial.subarray(0, this.#plen));
    this.#partial = next;
  }
}
