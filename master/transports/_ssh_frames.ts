/**
 * The master's reader of agent frames (see `protocol/agent.ts`), for the hot
 * path: the stream is read (BYOB) into one buffer that is reused read after
 * read; a frame is handed over as a view of that buffer, valid only during
 * the call (the `OutputHandler` contract of `types.ts`). Bytes of a frame not yet
 * whole stay where they are until the free space runs low; then they move to
 * the front, once.
 *
 * @module
 */

import { FRAME_HEADER } from "../../protocol/agent.ts";

/**
 * Receives one frame; `payload` is valid only during the call (copy what you
 * keep). A promise returned asks the reader to read no more until it settles
 * (backpressure: the log is behind).
 */
export type FrameHandler = (
  kind: number,
  key: number,
  payload: Uint8Array,
) => void | Promise<void>;

/** Options of {@linkcode FrameReader}. */
export interface FrameReaderOptions {
  /**
   * Bytes that come before the frames (the agent's magic line): everything
   * before them is handed to `onPreamble` and skipped. None = frames from the
   * first byte.
   */
  magic?: Uint8Array;
  /** Receives the bytes before `magic`, in pieces (a copy: the caller's to keep). */
  onPreamble?: (bytes: Uint8Array) => void;
  /** Initial buffer size; it grows for a frame larger than half of it. @default {262144} */
  size?: number;
}

/** Minimum free space to read into before the held bytes move to the front. */
const MIN_READ = 65536;

function indexOf(haystack: Uint8Array, needle: Uint8Array, from: number, to: number): number {
  outer: for (let i = from; i + needle.length <= to; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** Splits a byte stream into frames, in one reused buffer. */
export class FrameReader {
  #buf: ArrayBuffer;
  /** First byte not yet handed over. */
  #start = 0;
  /** End of the bytes read. */
  #end = 0;
  #magic: Uint8Array | undefined;
  readonly #onPreamble: (bytes: Uint8Array) => void;
  readonly #onFrame: FrameHandler;
  /** What a handler asked to wait for before the next read. */
  #wait: Promise<void> | undefined;

  /** @param onFrame Called for each frame, in order. */
  constructor(onFrame: FrameHandler, options: FrameReaderOptions = {}) {
    const { magic, onPreamble = () => {}, size = 262144 } = options;
    this.#onFrame = onFrame;
    this.#magic = magic !== undefined && magic.length > 0 ? magic : undefined;
    this.#onPreamble = onPreamble;
    this.#buf = new ArrayBuffer(Math.max(size, 2 * MIN_READ));
  }

  /** Bytes held that do not yet make a whole frame. */
  get pending(): number {
    return this.#end - this.#start;
  }

  /** The free part of the buffer, to read into; then call {@linkcode filled}. */
  space(): Uint8Array {
    if (this.#buf.byteLength - this.#end < MIN_READ) this.#compact(MIN_READ);
    return new Uint8Array(this.#buf, this.#end);
  }

  /**
   * Takes back the view a read filled (`space()`'s, or the one a BYOB read
   * returned in its place) and hands over every frame now whole.
   */
  filled(view: Uint8Array): void {
    this.#buf = view.buffer as ArrayBuffer;
    this.#end = view.byteOffset + view.length;
    this.#scan();
  }

  /** Adds a chunk by copying it in (for tests and odd sources). */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length) {
      const space = this.space();
      const n = Math.min(space.length, chunk.length - at);
      space.set(chunk.subarray(at, at + n));
      at += n;
      this.filled(space.subarray(0, n));
    }
  }

  /**
   * Reads `stream` to its end (or until it breaks, or `signal` aborts: then
   * the stream is cancelled) with a BYOB reader.
   */
  async pump(
    stream: ReadableStream<Uint8Array>,
    onRead?: () => void,
    signal?: AbortSignal,
    onPause?: (paused: boolean) => void,
  ): Promise<void> {
    const reader = stream.getReader({ mode: "byob" });
    const cancel = () => void reader.cancel().catch(() => {});
    if (signal?.aborted) cancel();
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      while (true) {
        const { done, value } = await reader.read(this.space());
        if (value === undefined) return; // the stream broke: the buffer went with it
        if (done) {
          this.#buf = value.buffer as ArrayBuffer; // the empty view gives the buffer back
          return;
        }
        onRead?.();
        this.filled(value);
        const wait = this.#wait;
        if (wait !== undefined) {
          this.#wait = undefined;
          onPause?.(true);
          await wait.catch(() => {});
          onPause?.(false);
        }
      }
    } catch {
      // the pipe broke: the stream ends
    } finally {
      signal?.removeEventListener("abort", cancel);
      reader.releaseLock();
      this.end();
    }
  }

  /** The stream ended: hands over what is left of a preamble with no magic after it. */
  end(): void {
    if (this.#magic === undefined || this.#end === this.#start || this.#buf.detached) return;
    this.#onPreamble(new Uint8Array(this.#buf).slice(this.#start, this.#end));
    this.#start = this.#end = 0;
  }

  #compact(free: number): void {
    const held = this.#end - this.#start;
    const buf = held + free > this.#buf.byteLength
      ? new ArrayBuffer(Math.max(2 * this.#buf.byteLength, held + free))
      : this.#buf;
    new Uint8Array(buf).set(new Uint8Array(this.#buf, this.#start, held));
    this.#buf = buf;
    this.#start = 0;
    this.#end = held;
  }

  #scan(): void {
    const bytes = new Uint8Array(this.#buf);
    if (this.#magic !== undefined && !this.#sync(bytes)) return;
    const view = new DataView(this.#buf);
    let pos = this.#start;
    const end = this.#end;
    while (end - pos >= FRAME_HEADER) {
      const next = pos + FRAME_HEADER + view.getUint32(pos + 5);
      if (next > end) {
        // a frame larger than the buffer can hold: make room for all of it
        const need = next - pos;
        if (need > this.#buf.byteLength - MIN_READ) {
          this.#start = pos;
          this.#compact(need + MIN_READ);
          return;
        }
        break;
      }
      const wait = this.#onFrame(
        bytes[pos]!,
        view.getUint32(pos + 1),
        bytes.subarray(pos + FRAME_HEADER, next),
      );
      if (wait !== undefined) this.#wait = wait;
      pos = next;
    }
    if (pos === end) {
      this.#start = this.#end = 0;
    } else {
      this.#start = pos;
    }
  }

  /** Skips to just after the magic; false while it has not come yet. */
  #sync(bytes: Uint8Array): boolean {
    const magic = this.#magic!;
    const at = indexOf(bytes, magic, this.#start, this.#end);
    if (at >= 0) {
      if (at > this.#start) this.#onPreamble(bytes.slice(this.#start, at));
      this.#start = at + magic.length;
      this.#magic = undefined;
      return true;
    }
    // keep only what may be the start of the magic
    const keep = Math.max(this.#start, this.#end - magic.length + 1);
    if (keep > this.#start) this.#onPreamble(bytes.slice(this.#start, keep));
    this.#start = keep;
    return false;
  }
}
