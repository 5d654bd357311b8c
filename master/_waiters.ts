/**
 * Promises waiting for one condition of a stateful object, settled together
 * when the object says so.
 *
 * @module
 */

/** A set of waiting promises, settled all at once. */
export class Waiters {
  /**
   * The promises waiting, in the order they were made; none (no array) most of
   * the time: an object that may be waited for costs one empty field until it is.
   */
  #waiting: PromiseWithResolvers<void>[] | undefined;

  /** How many are waiting. */
  get size(): number {
    return this.#waiting?.length ?? 0;
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
    if (this.#waiting === undefined) this.#waiting = [waiter];
    else this.#waiting.push(waiter);
    // without a signal, only resolveAll() or rejectAll() settle it, and they forget it
    if (signal === undefined) return waiter.promise;
    const abort = () => {
      this.#forget(waiter);
      waiter.reject(signal.reason);
    };
    signal.addEventListener("abort", abort, { once: true });
    return waiter.promise.finally(() => signal.removeEventListener("abort", abort));
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
    const all = this.#waiting ?? [];
    this.#waiting = undefined;
    return all;
  }

  #forget(waiter: PromiseWithResolvers<void>): void {
    const all = this.#waiting;
    const i = all?.indexOf(waiter) ?? -1;
    if (i < 0) return;
    if (all!.length === 1) this.#waiting = undefined;
    else all!.splice(i, 1);
  }
}
