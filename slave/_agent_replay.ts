/**
 * The agent's replay buffer: the frames sent to the master that it has not
 * acknowledged yet, numbered 1, 2, … in the order they were sent. The master
 * acknowledges in its heartbeats (`hb.ack`); a link that re-attaches names the
 * last frame it received (`attach.ack`) and gets every kept frame after it.
 *
 * Bounded: when the kept bytes pass the limit, the oldest frames are dropped
 * and the output among them counted by instance, so the re-attached master
 * can say how much it will never see. A dropped frame that was sent on a link
 * (`detach()` says until which number) may have been received there: it
 * counts only when the re-attaching link says it did not (`ack` below it).
 *
 * @module
 */

import { FRAME, FRAME_HEADER } from "../protocol/agent.ts";

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
  /** Output the limit dropped, never sent, by instance key, since the last {@linkcode since}. */
  #lost = new Map<number, { chunks: number; bytes: number }>();
  /** Output the limit dropped after it was sent (maybe received): seq, key, bytes. */
  #sentDrops: number[] = [];
  /** Frames up to this number were sent on a link (Infinity while one is up). */
  #sent = Infinity;
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
    while (this.#bytes > limit && this.size > 1) this.#drop();
  }

  /** Drops the oldest frame unacknowledged, counting the output it held. */
  #drop(): void {
    const frame = this.#frames[this.#head]!;
    if (frame[0] === FRAME.stdout || frame[0] === FRAME.stderr) {
      const key = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
      const bytes = frame.length - FRAME_HEADER;
      if (this.#first <= this.#sent && this.#sentDrops.length < MAX_SENT_DROPS) {
        this.#sentDrops.push(this.#first, key, bytes);
      } else {
        this.#count(key, bytes);
      }
    }
    this.#shift();
  }

  #count(key: number, bytes: number): void {
    const lost = this.#lost.get(key) ?? { chunks: 0, bytes: 0 };
    lost.chunks++;
    lost.bytes += bytes;
    this.#lost.set(key, lost);
  }

  /** The link is gone: frames added from now on were never sent. */
  detach(): void {
    this.#sent = this.last;
  }

  /** The master received every frame up to `seq`: forget them. */
  ack(seq: number): void {
    if (seq > this.#acked) this.#acked = seq;
    let i = 0;
    while (i < this.#sentDrops.length && this.#sentDrops[i]! <= seq) i += 3;
    if (i > 0) this.#sentDrops.splice(0, i);
    while (this.size > 0 && this.#first <= seq) this.#shift();
  }

  /**
   * What a link that received every frame up to `ack` is missing: the frames
   * after it still kept, `seq` the number of the frame before them, and how
   * many between `ack` and them were dropped (`lost`: the output among
   * them, by instance key; counted from the previous call).
   */
  since(ack: number): {
    seq: number;
    frames: Uint8Array[];
    dropped: number;
    lost: { key: number; chunks: number; bytes: number }[];
  } {
    this.ack(ack);
    for (let i = 0; i < this.#sentDrops.length; i += 3) {
      this.#count(this.#sentDrops[i + 1]!, this.#sentDrops[i + 2]!);
    }
    this.#sentDrops = [];
    this.#sent = Infinity; // a link takes over
    const seq = this.#first - 1;
    const lost = [...this.#lost].map(([key, l]) => ({ key, ...l }));
    this.#lost.clear();
    const frames = this.#frames.slice(this.#head);
    return { seq, frames, dropped: Math.max(0, seq - this.#acked), lost };
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
/** Drops of sent frames remembered one by one (3 numbers each); past it, counted as lost. */
const MAX_SENT_DROPS = 3 * 100_000;
