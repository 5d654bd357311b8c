/**
 * The default of every launcher option, in one place: the Launcher fills in
 * missing options from it, the JSON Schema shows it as `default`, and the
 * `@default` tags of `LaunchOptions` (types.ts) say the same (a test checks).
 *
 * @module
 */

import type { LaunchOptions } from "./types.ts";

/**
 * The value of each {@linkcode LaunchOptions} field when it is not given.
 * A process config's `timeout` defaults to the launcher's `timeout`.
 *
 * @example
 * ```ts
 * import { DEFAULTS } from "./defaults.ts";
 * const options = { ...DEFAULTS, gracePeriod: 2 };
 * console.log(options.timeout, options.gracePeriod); // 30 2
 * ```
 */
export const DEFAULTS: Readonly<Required<LaunchOptions>> = Object.freeze({
  timeout: 30,
  maxProcessTimeouts: 3,
  maxRunningTime: 0,
  restart: "on-failure",
  maxRestarts: 5,
  gracePeriod: 10,
  backoffInitial: 1,
  backoffMax: 60,
  backoffReset: 30,
  checkInterval: 1,
  sshLease: 10,
  adoptWindow: 30,
  service: false,
  maxLineBytes: 65536,
});
