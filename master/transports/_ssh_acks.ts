/**
 * Acknowledging an agent's frames once their output is written where the
 * log goes (handover): the agent then forgets them, so a new master (after
 * this one died) gets from it exactly what this one did not write.
 *
 * @module
 */

/**
 * Least time, in ms, between two acknowledgements: a quiet stream is
 * acknowledged at once, a flood every ACK_MS. A master killed within that
 * time after writing lines has them replayed to the next one
 * (at-least-once for those).
 */
const ACK_MS = 5;

/** The acknowledgements of one session. */
export class Acks {
  readonly #written: () => Promise<void>;
  readonly #received: () => number;
  readonly #send: (seq: number) => void;
  readonly #over: () => boolean;
  #acked = 0;
  #acking = false;
  #lastAck = 0;

  /**
   * @param written Resolves once the output handed on so far is written.
   * @param received The number of the last frame received.
   * @param send Sends the acknowledgement of frames up to `seq`.
   * @param over True once the session is over.
   */
  constructor(
    written: () => Promise<void>,
    received: () => number,
    send: (seq: number) => void,
    over: () => boolean,
  ) {
    this.#written = written;
    this.#received = received;
    this.#send = send;
    this.#over = over;
  }

  /** The last frame acknowledged (what the heartbeats repeat). */
  get acked(): number {
    return this.#acked;
  }

  /** Acknowledges the frames received so far once the log wrote them (one wait at a time). */
  soon(): void {
    if (this.#acking || this.#received() === this.#acked) return;
    this.#acking = true;
    const go = () => {
      const seq = this.#received();
      this.#written().catch(() => {}).then(() => {
        this.#acking = false;
        this.#lastAck = performance.now();
        if (this.#over() || seq <= this.#acked) return;
        this.#acked = seq;
        this.#send(seq);
        this.soon(); // what came while the log wrote
      });
    };
    const wait = this.#lastAck + ACK_MS - performance.now();
    if (wait > 0) setTimeout(go, wait);
    else go();
  }
}
