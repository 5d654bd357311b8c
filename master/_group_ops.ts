/**
 * Operations on a group's instances that take more than one step: the
 * rolling restart.
 *
 * @module
 */

import type { Instance } from "./process.ts";

/** Options of {@linkcode rollingRestart}. */
export interface RollingRestartOptions {
  /** Seconds each new run has to become ready and alive before the restart halts. @default {30} */
  aliveTimeout?: number;
  /** Asked before each instance: true ends the restart there (the launcher is stopping). @default {() => false} */
  cancelled?: () => boolean;
}

/**
 * Restarts `members` of group `group` one at a time (skipping suspended
 * ones): the next one is stopped only once the new run of the previous one
 * is ready (it said `@distarch/1 ready`, for a group with `waitReady`) and
 * alive (running and has printed or pinged). Throws when a new run is not
 * both within `aliveTimeout` seconds, or is done first, leaving the rest
 * untouched.
 *
 * @example
 * ```ts ignore
 * import { rollingRestart } from "./_group_ops.ts";
 * await rollingRestart("Workers", members, { aliveTimeout: 10 });
 * ```
 */
export async function rollingRestart(
  group: string,
  members: readonly Instance[],
  options: RollingRestartOptions = {},
): Promise<void> {
  const { aliveTimeout = 30, cancelled = () => false } = options;
  for (const inst of members) {
    if (cancelled()) return;
    if (inst.state === "suspended") continue;
    await inst.stop("stopped");
    inst.start();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), aliveTimeout * 1000);
    try {
      await inst.whenReady(timeout.signal);
      await inst.whenAlive(timeout.signal);
    } catch (cause) {
      throw new Error(
        `rolling restart of group ${
          JSON.stringify(group)
        } halted: ${inst.spec.label} on ${inst.spec.host} ` +
          `is not ${
            inst.spec.waitReady && !inst.ready ? "ready" : "alive"
          } after ${aliveTimeout} s (state ${inst.state})`,
        { cause },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}
