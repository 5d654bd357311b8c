/**
 * Counted nouns in messages.
 *
 * @module
 */

/**
 * `n` and `word`, with an `s` unless `n` is 1.
 *
 * @example
 * ```ts
 * import { plural } from "./plural.ts";
 * console.log(plural(1, "restart"), plural(2, "failed run")); // "1 restart" "2 failed runs"
 * ```
 */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
