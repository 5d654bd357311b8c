/**
 * An abortable sleep, shared by the master and the code shipped to hosts.
 *
 * @module
 */

/** Options of {@linkcode delay}. */
export interface DelayOptions {
  /** Ends the wait early: the promise then rejects with the signal's reason. @default {undefined} */
  signal?: AbortSignal;
}

/**
 * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as
 * `signal` aborts (at once when it already has). The timer and the listener
 * are always removed.
 *
 * @example
 * ```ts
 * import { delay } from "./delay.ts";
 * const abort = new AbortController();
 * const wait = delay(60_000, { signal: abort.signal });
 * abort.abort(new Error("not any more"));
 * await wait.catch((e: Error) => console.log(e.message)); // "not any more"
 * ```
 */
export function delay(ms: number, options: DelayOptions = {}): Promise<void> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve();
    }, ms);
    function abort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", abort, { once: true });
  });
}
