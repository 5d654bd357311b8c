/**
 * The agent's output side: frames are queued and written in big batches, so
 * that many small output chunks cost one `write` instead of one each.
 *
 * @module
 */

/** Where batches go: resolves once all bytes are written, rejects when the pipe broke. */
export type WriteAll = (bytes: Uint8Array) => Promise<void>;

/** Queues frames and writes them in batches, in order. */
export class BatchWriter {
  readonly #write: WriteAll;
  readonly #onError: (error: unknown) => void;
  #queue: Uint8Array[] = [];
  #queued = 0;
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
    return this.#queued;
  }

  /** Queues one frame; it is written soon, after every frame queued before it. */
  push(frame: Uint8Array): void {
    if (this.#broken) return;
    this.#queue.push(frame);
    this.#queued += frame.length;
    this.#flushing ??= this.#loop();
  }

  /** Resolves once everything queued so far was written (or the pipe broke). */
  flush(): Promise<void> {
    return this.#flushing ?? Promise.resolve();
  }

  async #loop(): Promise<void> {
    // let the current burst of chunks queue up before the first write
    await Promise.resolve();
    try {
      while (this.#queue.length > 0 && !this.#broken) {
        const parts = this.#queue;
        const size = this.#queued;
        this.#queue = [];
        this.#queued = 0;
        let batch: Uint8Array;
        if (parts.length === 1) {
          batch = parts[0]!;
        } else {
          batch = new Uint8Array(size);
          let at = 0;
          for (const p of parts) {
            batch.set(p, at);
            at += p.length;
          }
        }
        await this.#write(batch);
      }
    } catch (error) {
      this.#broken = true;
      this.#queue = [];
      this.#queued = 0;
      this.#onError(error);
    } finally {
      this.#flushing = undefined;
    }
  }
}
