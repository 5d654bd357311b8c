/**
 * Newline-delimited JSON over a byte stream: bounded line reading, an async
 * iterator of parsed lines, and a serialised writer that counts what it has
 * not written yet.
 *
 * @module
 */

/** Options of {@linkcode readLines} and {@linkcode readJsonLines}. */
export interface ReadLinesOptions {
  /** Longest line accepted, in bytes; a longer one throws as soon as it is seen. @default {16 MiB} */
  maxLine?: number;
}

/** Thrown when a line is longer than allowed; the rest of the stream is not read. */
export class LineTooLongError extends RangeError {
  override name = "LineTooLongError";
  /** The limit, in bytes. */
  readonly maxLine: number;

  /** Builds the error for a limit of `maxLine` bytes. */
  constructor(maxLine: number) {
    super(`line longer than ${maxLine} bytes`);
    this.maxLine = maxLine;
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Yields each line of `stream` as bytes, without its newline; the last one
 * even without a newline. Each byte is looked at once, and at most `maxLine`
 * bytes are buffered: a longer line throws {@linkcode LineTooLongError} at
 * once. The stream is not cancelled when iteration stops (a socket stays open
 * for an answer); its reader lock is released.
 *
 * @example
 * ```ts
 * import { readLines } from "./_ndjson.ts";
 * const stream = ReadableStream.from([new TextEncoder().encode("a\nb")]);
 * for await (const line of readLines(stream)) console.log(new TextDecoder().decode(line));
 * ```
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadLinesOptions = {},
): AsyncGenerator<Uint8Array> {
  const { maxLine = 16 * 1024 * 1024 } = options;
  const reader = stream.getReader();
  let parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (true) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      let start = 0;
      let nl: number;
      while ((nl = chunk.indexOf(0x0a, start)) >= 0) {
        if (size + nl - start > maxLine) throw new LineTooLongError(maxLine);
        parts.push(chunk.subarray(start, nl));
        const line = concat(parts, size + nl - start);
        parts = [];
        size = 0;
        start = nl + 1;
        yield line;
      }
      if (start < chunk.length) {
        size += chunk.length - start;
        if (size > maxLine) throw new LineTooLongError(maxLine);
        parts.push(chunk.subarray(start));
      }
    }
    if (size > 0) yield concat(parts, size);
  } finally {
    reader.releaseLock();
  }
}

/**
 * Yields each non-blank line of `stream` parsed as JSON; ends at end of
 * stream. Throws `SyntaxError` on a line that is not JSON and
 * {@linkcode LineTooLongError} on a line longer than `maxLine` bytes.
 */
export async function* readJsonLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadLinesOptions = {},
): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  for await (const bytes of readLines(stream, options)) {
    const line = decoder.decode(bytes);
    if (line.trim() !== "") yield JSON.parse(line);
  }
}

/** Writes JSON lines to `writer` one after the other, never interleaved. */
export class JsonLineWriter {
  readonly #writer: { write(p: Uint8Array): Promise<number> };
  readonly #encoder = new TextEncoder();
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  #pendingBytes = 0;
  #failed = false;
  #progress = Date.now();

  /** Wraps `writer` (a `Deno.Conn`, for instance). */
  constructor(writer: { write(p: Uint8Array): Promise<number> }) {
    this.#writer = writer;
  }

  /** Lines queued and not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /** Bytes queued and not yet written. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** True once a write failed (the peer is gone). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Resolves once every queued line is written (or dropped). */
  drain(): Promise<void> {
    return this.#chain;
  }

  /**
   * Resolves `true` once every queued line is written, or `false` as soon as
   * nothing could be written for `stallMs` (a peer that does not read): a
   * slow reader is waited for, one that stopped reading is not.
   */
  async drainUnlessStalled(stallMs: number): Promise<boolean> {
    const drained = this.#chain.then(() => true);
    while (this.#pending > 0) {
      const wait = Math.max(10, this.#progress + stallMs - Date.now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const tick = new Promise<false>((r) => timer = setTimeout(() => r(false), wait));
      const done = await Promise.race([drained, tick]);
      clearTimeout(timer);
      if (done) return true;
      if (this.#pending > 0 && Date.now() - this.#progress >= stallMs) return false;
    }
    return true;
  }

  /** Queues `value` as one line; resolves once written (never rejects). */
  send(value: unknown): Promise<void> {
    const bytes = this.#encoder.encode(JSON.stringify(value) + "\n");
    if (this.#pending === 0) this.#progress = Date.now();
    this.#pending++;
    this.#pendingBytes += bytes.length;
    this.#chain = this.#chain.then(async () => {
      let off = 0;
      try {
        if (this.#failed) return;
        while (off < bytes.length) {
          const n = await this.#writer.write(bytes.subarray(off));
          off += n;
          this.#pendingBytes -= n;
          this.#progress = Date.now();
        }
      } catch {
        this.#failed = true;
      } finally {
        this.#pending--;
        this.#pendingBytes -= bytes.length - off;
      }
    });
    return this.#chain;
  }
}
