/**
 * The agent's output side: frames are encoded straight into a batch buffer
 * (the one copy of a chunk, which is valid only during its handler's call)
 * and written in big batches, so that many small output chunks cost one
 * `write` instead of one each. Two buffers take turns: one is written while
 * the other fills; both are reused.
 *
 * @module
 */

import { FRAME_HEADER } from "../protocol/agent.ts";

/** Where batches go: resolves once all bytes are written, rejects when the pipe broke. */
export type WriteAll = (bytes: Uint8Array) => Promise<void>;

/** A buffer larger than this is not kept for reuse once written. */
const KEEP = 1 << 20;
const INITIAL = 64 * 1024;

/** Queues frames and writes them in batches, in order. */
export class BatchWriter {
  readonly #write: WriteAll;
  readonly #onError: (error: unknown) => void;
  #buf: Uint8Array = new Uint8Array(INITIAL);
  #view: DataView = new DataView(this.#buf.buffer);
  #used = 0;
  #spare: Uint8Array | undefined;
  #flushing: Promise<void> | undefined;
  #broken = false;

  /**
   * @param write Writes one batch.
   * @param onError Called once, when a write fails (the link is gone).
   */
  constructor(write: WriteAll, onError: (error: unknown) => void) {
    this.#write = write;
    this.#onError = onError;
  }

  /** True once a write failed. */
  get broken(): boolean {
    return this.#broken;
  }

  /** Bytes waiting to be written. */
  get queued(): number {
    return this.#used;
  }

  /** Queues bytes as they are (a whole frame, or the magic); copied. */
  push(bytes: Uint8Array): void {
    if (this.#broken) return;
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#used);
    this.#used += bytes.length;
    this.#flushing ??= this.#loop();
  }

  /** Queues one frame of `kind` for `key` around `payload` (copied: it may be reused). */
  pushFrame(kind: number, key: number, payload: Uint8Array): void {
    if (this.#broken) return;
    this.#room(FRAME_HEADER + payload.length);
    const at = this.#used;
    this.#view.setUint8(at, kind);
    this.#view.setUint32(at + 1, key);
    this.#view.setUint32(at + 5, payload.length);
    this.#buf.set(payload, at + FRAME_HEADER);
    this.#used = at + FRAME_HEADER + payload.length;
    this.#flushing ??= this.#loop();
  }

  /** Resolves once everything queued so far was written (or the pipe broke). */
  flush(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
  }

  #room(n: number): void {
    if (this.#used + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#used + n) size *= 2;
    const buf = new Uint8Array(size);
    buf.set(this.#buf.subarray(0, this.#used));
    this.#take(buf);
  }

  #take(buf: Uint8Array): void {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  async #loop(): Promise<void> {
    // let the current burst of chunks queue up before the first write
    await Promise.resolve();
    try {
      while (this.#used > 0 && !this.#broken) {
        const full = this.#buf;
        const batch = full.subarray(0, this.#used);
        this.#take(this.#spare ?? new Uint8Array(INITIAL));
        this.#spare = undefined;
        this.#used = 0;
        await this.#write(batch);
        if (full.length <= KEEP) this.#spare = full;
      }
    } catch (error) {
      this.#broken = true;
      this.#used = 0;
      this.#onError(error);
    } finally {
      this.#flushing = undefined;
    }
  }
}
