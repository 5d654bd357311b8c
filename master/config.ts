/**
 * unknown (parsed YAML/JSON, or a plain object) → validated configuration.
 * Every problem is collected and named by the path of its field, e.g.
 * `groups[1].processes[0].hosts: must not be empty (got [])`.
 *
 * The rules are field tables (`_config_fields.ts` for the groups,
 * `_launch_rules.ts` for the launcher options), from which config_schema.ts
 * generates the JSON Schema, plus the rules across fields that JSON Schema
 * cannot say (`_group_rules.ts`, `_launch_rules.ts`).
 *
 * @module
 */

import type { GroupConfig, LaunchOptions } from "./types.ts";
import { _Issues, type ConfigPath } from "./_checks.ts";
import { _fileFields, _launch } from "./_launch_rules.ts";
import { _groups, _groupsField, type ValidateGroupsOptions } from "./_group_rules.ts";

export { ConfigError } from "./_checks.ts";
export type { ConfigIssue, ConfigPath } from "./_checks.ts";
export { MAX_INSTANCES, MAX_PARAMS_BYTES } from "./_config_fields.ts";
export { DEFAULTS } from "./defaults.ts";
export type { ValidateGroupsOptions } from "./_group_rules.ts";

/**
 * Validates groups parsed from YAML/JSON (or built in code) and returns a fresh
 * copy. Throws a {@linkcode ConfigError} listing every problem.
 *
 * @example
 * ```ts
 * import { validateGroups } from "./config.ts";
 * const groups = validateGroups(
 *   [{ name: "g", command: "sleep", processes: [{ type: "local", instances: 2 }] }],
 * );
 * console.log(groups[0]?.processes[0]?.instances); // 2
 * ```
 */
export function validateGroups(input: unknown, options: ValidateGroupsOptions = {}): GroupConfig[] {
  const { root = ["groups"] } = options;
  const issues = new _Issues();
  const groups = _groups(input, root, issues, options);
  issues.throwIfAny();
  return groups as unknown as GroupConfig[];
}

/**
 * Validates launcher options (see `LaunchOptions` in types.ts) and returns a copy.
 * Throws a {@linkcode ConfigError} listing every problem.
 *
 * @example
 * ```ts
 * import { validateLaunchOptions } from "./config.ts";
 * const options = validateLaunchOptions({ restart: "always", gracePeriod: 5 });
 * console.log(options.restart); // "always"
 * ```
 */
export function validateLaunchOptions(input: unknown, root: ConfigPath = []): LaunchOptions {
  const issues = new _Issues();
  const options = _launch(input, root, issues);
  issues.throwIfAny();
  return options as LaunchOptions;
}

/** A whole configuration file: the groups plus the launcher options. */
export interface Config {
  /** The validated groups. */
  groups: GroupConfig[];
  /** The launcher options found beside `groups`. */
  options: LaunchOptions;
  /** The `http:` section: the dashboard (see master/http/dashboard.ts), when present. */
  http?: { listen: string; token?: string };
}

/**
 * Validates a whole configuration file `{ groups: [...], ...LaunchOptions }`
 * (see config_schema.ts; a `$schema` key is allowed and dropped), collecting the
 * issues of both parts.
 *
 * @example
 * ```ts
 * import { validateConfig } from "./config.ts";
 * const { groups, options } = validateConfig({
 *   groups: [{ name: "g", command: "sleep", processes: [{ type: "local", instances: 1 }] }],
 *   timeout: 10,
 * });
 * console.log(groups.length, options.timeout); // 1 10
 * ```
 */
export function validateConfig(
  input: unknown,
  options: Omit<ValidateGroupsOptions, "root"> = {},
): Config {
  const issues = new _Issues();
  const fields = _fileFields(_groupsField(options));
  const out = _launch(input, [], issues, fields, ["groups"]);
  issues.throwIfAny();
  const { groups, $schema: _, http, ...launch } = out ?? {};
  const config: Config = { groups: groups as GroupConfig[], options: launch as LaunchOptions };
  if (http !== undefined) config.http = http as NonNullable<Config["http"]>;
  return config;
}
