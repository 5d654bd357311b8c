/**
 * The supervision settings of every instance, from the launcher's options:
 * seconds become milliseconds, once, here.
 *
 * @module
 */

import type { RestartSettings } from "./_restart_policy.ts";
import type { LaunchOptions } from "./types.ts";

/** Supervision settings, in milliseconds where they are times. */
export interface SupervisorSettings extends RestartSettings {
  /** SIGTERM → SIGKILL delay. */
  graceMs: number;
  /** Longest line relayed as one record. @default {65536} */
  maxLineBytes?: number;
}

/**
 * The settings an instance is supervised with, from the launch options with
 * their defaults filled in.
 *
 * @example
 * ```ts
 * import { DEFAULTS } from "./defaults.ts";
 * import { supervisorSettings } from "./_settings.ts";
 * console.log(supervisorSettings(DEFAULTS).backoffMaxMs); // 60000
 * ```
 */
export function supervisorSettings(options: Required<LaunchOptions>): SupervisorSettings {
  const o = options;
  return {
    restart: o.restart,
    maxRestarts: o.maxRestarts,
    maxProcessTimeouts: o.maxProcessTimeouts,
    graceMs: o.gracePeriod * 1000,
    backoffInitialMs: o.backoffInitial * 1000,
    backoffMaxMs: o.backoffMax * 1000,
    backoffResetMs: o.backoffReset * 1000,
    maxLineBytes: o.maxLineBytes,
  };
}
