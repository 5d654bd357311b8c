/**
 * The CLI's exit codes and the one error class commands throw to end with one.
 *
 * @module
 */

/** Exit codes of `distarch`, documented in docs/cli.md. */
export const EXIT = {
  /** Everything ended cleanly, or the request succeeded. */
  ok: 0,
  /** `run`: some instance failed; a control request was refused (e.g. no such group). */
  failed: 1,
  /** Bad command line. */
  usage: 2,
  /** The config file is missing, not YAML, or invalid. */
  config: 3,
  /** No master answers on the control socket, or one already runs there. */
  socket: 4,
  /** `run` stopped by SIGINT (128 + 2). */
  sigint: 130,
  /** `run` stopped by SIGTERM (128 + 15). */
  sigterm: 143,
} as const;

/**
 * An error that ends the CLI with `exitCode` and prints only its message
 * (no stack): the condition is the user's to fix, not a bug.
 *
 * @example
 * ```ts
 * import { CliError, EXIT } from "./_errors.ts";
 * const e = new CliError("unknown command \"pss\"", EXIT.usage);
 * console.log(e.exitCode); // 2
 * ```
 */
export class CliError extends Error {
  override name = "CliError";
  /** The process exit code to end with. */
  readonly exitCode: number;

  /** Builds the error; `cause` is kept for debugging. */
  constructor(message: string, exitCode: number, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}
