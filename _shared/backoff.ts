/**
 * The one backoff: how long to wait before attempt number `n` after failures.
 *
 * @module
 */

/**
 * The delay before restart number `failures` (1-based): `initialMs` doubled
 * for each failure after the first, capped at `maxMs`, with jitter in
 * [50%, 100%] of that (`random` in [0, 1], `Math.random()` by default),
 * rounded to the millisecond. 0 counts as 1.
 *
 * @example
 * ```ts
 * import { backoffDelay } from "./backoff.ts";
 * // random = 1: the full delay, 100 · 2³ ms
 * console.log(backoffDelay(4, 100, 60_000, 1)); // 800
 * ```
 */
export function backoffDelay(
  failures: number,
  initialMs: number,
  maxMs: number,
  random: number = Math.random(),
): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.5 + random / 2));
}
