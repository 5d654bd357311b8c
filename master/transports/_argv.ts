/**
 * From an {@linkcode Exec} to the argv a transport runs: shared by every
 * transport (the ssh one names the host's runtime `@deno`).
 *
 * @module
 */

import type { Exec } from "../plan.ts";

/**
 * The Deno executable that runs Deno-script workers by default: this very
 * runtime, or — when this program is a `deno compile`d binary, which cannot
 * run other scripts — the `deno` found on the PATH.
 */
export function denoRuntime(): string {
  return Deno.build.standalone ? "deno" : Deno.execPath();
}

/**
 * The argv that runs `exec`, with `runtime` as the Deno executable when
 * `exec.binPath` is not set.
 */
export function argvFor(
  exec: Exec,
  runtime: string,
  script: string = exec.kind === "deno" ? exec.script : exec.command,
): string[] {
  if (exec.kind === "deno") {
    return [exec.binPath ?? runtime, "run", "--no-prompt", ...exec.permissions, script];
  }
  return exec.binPath ? [exec.binPath, script] : [script];
}
