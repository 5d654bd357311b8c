/**
 * When a running instance counts as hung, as a pure function of the time.
 *
 * @module
 */

/** What the liveness check knows of a running instance. */
export interface Watch {
  /** Seconds of silence allowed; 0 or less: never hung. */
  timeout: number;
  /** When it last printed or pinged (or started), in ms; `undefined`: not yet started. */
  lastSeen: number | undefined;
  /** True while its output is not read because the log is behind: no sign either way. */
  paused: boolean;
}

/**
 * How long the instance has been silent when that is at least its timeout
 * (it is hung); `undefined` when it is not hung, or cannot be told.
 *
 * @example
 * ```ts
 * import { hungFor } from "./_liveness.ts";
 * console.log(hungFor(12_000, { timeout: 10, lastSeen: 1_000, paused: false })); // 11000
 * console.log(hungFor(12_000, { timeout: 30, lastSeen: 1_000, paused: false })); // undefined
 * ```
 */
export function hungFor(now: number, watch: Watch): number | undefined {
  const { timeout, lastSeen, paused } = watch;
  if (timeout <= 0 || lastSeen === undefined || paused) return undefined;
  const silent = now - lastSeen;
  return silent < timeout * 1000 ? undefined : silent;
}
