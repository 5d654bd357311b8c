/**
 * Splits a byte stream into lines, chunk by chunk. Invalid UTF-8 becomes
 * U+FFFD; a line longer than `maxLine` is cut (the cut is reported through
 * the `cut` flag) and the rest of it dropped, so memory stays bounded.
 *
 * @module
 */

/** Receives one whole line (no newline, no trailing `\r`). */
export type LineHandler = (line: string, cut: boolean) => void;

/** Default longest line kept, in UTF-16 units. */
export const MAX_LINE = 64 * 1024;

/** A line splitter for one stream. */
export class LineSplitter {
  readonly #decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  readonly #onLine: LineHandler;
  readonly #max: number;
  #partial = "";
  #dropping = false;

  /** Creates a splitter calling `onLine` for each line. */
  constructor(onLine: LineHandler, maxLine: number = MAX_LINE) {
    this.#onLine = onLine;
    this.#max = maxLine;
  }

  /** Feeds a chunk; calls the handler for each line it completes. */
  push(chunk: Uint8Array): void {
    const text = this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    let nl = text.indexOf("\n");
    if (nl < 0) {
      this.#append(text);
      return;
    }
    // the first line continues what is pending
    this.#finish(text.slice(0, nl));
    start = nl + 1;
    const onLine = this.#onLine;
    const max = this.#max;
    while ((nl = text.indexOf("\n", start)) >= 0) {
      let end = nl;
      if (end > start && text.charCodeAt(end - 1) === 13) end--;
      if (end - start > max) onLine(text.slice(start, start + max), true);
      else onLine(text.slice(start, end), false);
      start = nl + 1;
    }
    if (start < text.length) this.#append(text.slice(start));
  }

  /** Ends the stream: a last line without newline is still handed over. */
  flush(): void {
    const rest = this.#decoder.decode();
    if (rest !== "") this.#append(rest);
    if (this.#partial !== "" && !this.#dropping) this.#onLine(this.#partial, false);
    this.#partial = "";
    this.#dropping = false;
  }

  #append(text: string): void {
    if (this.#dropping) return;
    const joined = this.#partial + text;
    if (joined.length > this.#max) {
      this.#onLine(joined.slice(0, this.#max), true);
      this.#partial = "";
      this.#dropping = true;
    } else {
      this.#partial = joined;
    }
  }

  #finish(tail: string): void {
    if (this.#dropping) {
      this.#dropping = false;
      this.#partial = "";
      return;
    }
    let line = this.#partial + tail;
    this.#partial = "";
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.length > this.#max) this.#onLine(line.slice(0, this.#max), true);
    else this.#onLine(line, false);
  }
}
