/**
 * Promises waiting for one condition of a stateful object, settled together
 * when the object says so.
 *
 * @module
 */

/** A set of waiting promises, settled all at once. */
export class Waiters {
  readonly #waiting = new Set<PromiseWithResolvers<void>>();

  /** How many are waiting. */
  get size(): number {
    return this.#waiting.size;
  }

  /**
   * A promise settled by the next {@linkcode Waiters.resolveAll} or
   * {@linkcode Waiters.rejectAll}, or rejected with `signal`'s reason when
   * `signal` aborts first.
   *
   * @example
   * ```ts
   * import { Waiters } from "./_waiters.ts";
   * const ready = new Waiters();
   * const waiting = ready.wait();
   * ready.resolveAll();
   * await waiting;
   * ```
   */
  wait(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const waiter = Promise.withResolvers<void>();
    const abort = () => waiter.reject(signal!.reason);
    signal?.addEventListener("abort", abort, { once: true });
    this.#waiting.add(waiter);
    return waiter.promise.finally(() => {
      this.#waiting.delete(waiter);
      signal?.removeEventListener("abort", abort);
    });
  }

  /** Resolves every promise waiting now, in the order they were made. */
  resolveAll(): void {
    for (const w of this.#take()) w.resolve();
  }

  /** Rejects every promise waiting now with `error`. */
  rejectAll(error: unknown): void {
    for (const w of this.#take()) w.reject(error);
  }

  #take(): PromiseWithResolvers<void>[] {
    const all = [...this.#waiting];
    this.#waiting.clear();
    return all;
  }
}
