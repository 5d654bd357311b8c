/**
 * How an unknown thrown value is shown in a message.
 *
 * @module
 */

/**
 * The message of `error` when it is an `Error`, else the value as a string.
 *
 * @example
 * ```ts
 * import { errorMessage } from "./errors.ts";
 * console.log(errorMessage(new TypeError("bad"))); // "bad"
 * console.log(errorMessage("plain")); // "plain"
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
