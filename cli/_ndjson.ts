/**
 * Newline-delimited JSON over a byte stream: an async iterator of parsed
 * lines, and a serialised writer.
 *
 * @module
 */

/** Options of {@linkcode readJsonLines}. */
export interface ReadJsonLinesOptions {
  /** Longest line accepted, in characters; longer is an error. @default {16 MiB} */
  maxLine?: number;
}

/**
 * Yields each line of `stream` parsed as JSON; ends at end of stream.
 * Throws `SyntaxError` on a line that is not JSON.
 */
export async function* readJsonLines(
  stream: ReadableStream<Uint8Array>,
  options: ReadJsonLinesOptions = {},
): AsyncGenerator<unknown> {
  const { maxLine = 16 * 1024 * 1024 } = options;
  const decoder = new TextDecoder();
  let partial = "";
  for await (const chunk of stream) {
    partial += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = partial.indexOf("\n")) >= 0) {
      const line = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      if (line.trim() !== "") yield JSON.parse(line);
    }
    if (partial.length > maxLine) throw new RangeError(`line longer than ${maxLine} characters`);
  }
  partial += decoder.decode();
  if (partial.trim() !== "") yield JSON.parse(partial);
}

/** Writes JSON lines to `writer` one after the other, never interleaved. */
export class JsonLineWriter {
  readonly #writer: { write(p: Uint8Array): Promise<number> };
  readonly #encoder = new TextEncoder();
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  #failed = false;

  /** Wraps `writer` (a `Deno.Conn`, for instance). */
  constructor(writer: { write(p: Uint8Array): Promise<number> }) {
    this.#writer = writer;
  }

  /** Lines queued and not yet written. */
  get pending(): number {
    return this.#pending;
  }

  /** True once a write failed (the peer is gone). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Resolves once every queued line is written (or dropped). */
  drain(): Promise<void> {
    return this.#chain;
  }

  /** Queues `value` as one line; resolves once written (never rejects). */
  send(value: unknown): Promise<void> {
    const bytes = this.#encoder.encode(JSON.stringify(value) + "\n");
    this.#pending++;
    this.#chain = this.#chain.then(async () => {
      try {
        if (this.#failed) return;
        let off = 0;
        while (off < bytes.length) off += await this.#writer.write(bytes.subarray(off));
      } catch {
        this.#failed = true;
      } finally {
        this.#pending--;
      }
    });
    return this.#chain;
  }
}
