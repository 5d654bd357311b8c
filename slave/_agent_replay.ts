/**
 * The agent's replay buffer: the frames sent to the master that it has not
 * acknowledged yet, numbered 1, 2, … in the order they were sent. The master
 * acknowledges in its heartbeats (`hb.ack`); a link that re-attaches names the
 * last frame it received (`attach.ack`) and gets every kept frame after it.
 *
 * Bounded: when the kept bytes pass the limit, the oldest frames are dropped
 * (and counted, so the re-attached master can say how many it will never see).
 *
 * @module
 */

/** Frames kept until the master acknowledges them. */
export class ReplayBuffer {
  #frames: Uint8Array[] = [];
  /** Index in `#frames` of the oldest kept frame. */
  #head = 0;
  /** Sequence number of the oldest kept frame (the next frame's when none is kept). */
  #first = 1;
  #bytes = 0;
  /** The highest number acknowledged. */
  #acked = 0;
  readonly #limit: () => number;

  /** @param limit The most bytes kept (asked on every add: it may depend on the instances). */
  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /** Sequence number of the last frame added (0 before the first). */
  get last(): number {
    return this.#first + this.size - 1;
  }

  /** Frames kept. */
  get size(): number {
    return this.#frames.length - this.#head;
  }

  /** Bytes kept. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Keeps `frame` (not copied: the caller gives it away) as number `last + 1`. */
  add(frame: Uint8Array): void {
    this.#frames.push(frame);
    this.#bytes += frame.length;
    const limit = this.#limit();
    while (this.#bytes > limit && this.size > 1) this.#shift();
  }

  /** The master received every frame up to `seq`: forget them. */
  ack(seq: number): void {
    if (seq > this.#acked) this.#acked = seq;
    while (this.size > 0 && this.#first <= seq) this.#shift();
  }

  /**
   * What a link that received every frame up to `ack` is missing: the frames
   * after it still kept, `seq` the number of the frame before them, and how
   * many between `ack` and them were dropped.
   */
  since(ack: number): { seq: number; frames: Uint8Array[]; dropped: number } {
    this.ack(ack);
    const seq = this.#first - 1;
    return { seq, frames: this.#frames.slice(this.#head), dropped: Math.max(0, seq - this.#acked) };
  }

  #shift(): void {
    this.#bytes -= this.#frames[this.#head]!.length;
    this.#frames[this.#head] = EMPTY;
    this.#head++;
    this.#first++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
  }
}

const EMPTY = new Uint8Array(0);
