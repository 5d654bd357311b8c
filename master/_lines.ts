/**
 * Splits a byte stream into lines, chunk by chunk, without decoding: each
 * line is handed over as a range of a buffer, so the common case (a plain
 * line relayed to a text log) never builds a string. A line longer than
 * `maxLine` bytes is cut (the `cut` flag says so) and the rest of it dropped,
 * so memory stays bounded.
 *
 * @module
 */

/**
 * Receives one whole line: `buf[start..end)`, without the newline or a
 * trailing `\r`. The range is only valid during the call.
 */
export type LineHandler = (buf: Uint8Array, start: number, end: number, cut: boolean) => void;

/** Default longest line kept, in bytes. */
export const MAX_LINE = 64 * 1024;

/** A line splitter for one stream. */
export class LineSplitter {
  readonly #onLine: LineHandler;
  readonly #max: number;
  #partial: Uint8Array = new Uint8Array(0);
  #plen = 0;
  #dropping = false;

  /** Creates a splitter calling `onLine` for each line. */
  constructor(onLine: LineHandler, maxLine: number = MAX_LINE) {
    this.#onLine = onLine;
    this.#max = maxLine;
  }

  /** Feeds a chunk; calls the handler for each line it completes. */
  push(chunk: Uint8Array): void {
    let nl = chunk.indexOf(10);
    if (nl < 0) {
      this.#append(chunk, 0, chunk.length);
      return;
    }
    if (this.#plen > 0 || this.#dropping) {
      this.#append(chunk, 0, nl > 0 && chunk[nl - 1] === 13 ? nl - 1 : nl);
      if (!this.#dropping) this.#emit(this.#partial, 0, this.#plen);
      this.#plen = 0;
      this.#dropping = false;
    } else {
      this.#emit(chunk, 0, nl);
    }
    let start = nl + 1;
    while ((nl = chunk.indexOf(10, start)) >= 0) {
      this.#emit(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.#append(chunk, start, chunk.length);
  }

  /** Ends the stream: a last line without newline is still handed over. */
  flush(): void {
    if (this.#plen > 0 && !this.#dropping) this.#emit(this.#partial, 0, this.#plen);
    this.#plen = 0;
    this.#dropping = false;
  }

  #emit(buf: Uint8Array, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13) end--;
    if (end - start > this.#max) this.#onLine(buf, start, start + this.#max, true);
    else this.#onLine(buf, start, end, false);
  }

  #append(chunk: Uint8Array, start: number, end: number): void {
    if (this.#dropping) return;
    const n = end - start;
    if (this.#plen + n > this.#max) {
      // keep what fits, hand it over as a cut line, drop the rest of the line
      const room = this.#max - this.#plen;
      this.#grow(this.#max);
      this.#partial.set(chunk.subarray(start, start + room), this.#plen);
      this.#onLine(this.#partial, 0, this.#max, true);
      this.#plen = 0;
      this.#dropping = true;
      return;
    }
    this.#grow(this.#plen + n);
    this.#partial.set(chunk.subarray(start, end), this.#plen);
    this.#plen += n;
  }

  #grow(size: number): void {
    if (size <= this.#partial.length) return;
    const next = new Uint8Array(Math.max(size, this.#partial.length * 2));
    next.set(this.#partial.subarray(0, this.#plen));
    this.#partial = next;
  }
}
