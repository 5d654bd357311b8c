/**
 * The readiness of an instance's current run: when it said
 * `@distarch/1 ready`, whether that was told (once per run), the
 * `readyTimeout` timer, and the promises waiting for it. It extends
 * {@linkcode Waiters} so that an instance holds one object for all of it
 * (memory per idle instance matters: see `bench/`).
 *
 * @module
 */

import { Waiters } from "./_waiters.ts";

/** One run's readiness, and who waits for it (through restarts). */
export class RunReadiness extends Waiters {
  #saidAt: number | undefined;
  #told = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** When the current run said `@distarch/1 ready`, if it did. */
  get saidAt(): number | undefined {
    return this.#saidAt;
  }

  /** The current run said it is ready, at `at`. */
  said(at: number | undefined): void {
    this.#saidAt = at;
  }

  /** A new run starts: nothing said or told yet. */
  newRun(): void {
    this.#saidAt = undefined;
    this.#told = false;
  }

  /**
   * Marks the current run's readiness as told and stops the timer; false
   * (and nothing done) when it was told already.
   */
  tell(): boolean {
    if (this.#told) return false;
    this.#told = true;
    this.disarm();
    return true;
  }

  /** Calls `onTimeout` in `ms`, unless {@linkcode RunReadiness.disarm}ed first. */
  arm(ms: number, onTimeout: () => void): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      onTimeout();
    }, ms);
  }

  /** Stops the timer. */
  disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
