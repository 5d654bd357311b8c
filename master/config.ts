/**
 * unknown (parsed YAML/JSON, or a plain object) → validated configuration.
 * Every problem is collected and named by the path of its field, e.g.
 * `groups[1].processes[0].hosts: must not be empty (got [])`.
 *
 * @module
 */

import { isDenoScript, resolveScript } from "./plan.ts";
import type { GroupConfig, LaunchOptions } from "./types.ts";
import {
  _bool,
  _int,
  _isPlainObject,
  _Issues,
  _json,
  _list,
  _map,
  _num,
  _object,
  _oneOf,
  _pathText,
  _show,
  _str,
  _unknownKey,
  type ConfigPath,
  type Fields,
} from "./_checks.ts";

export { ConfigError } from "./_checks.ts";
export type { ConfigIssue, ConfigPath } from "./_checks.ts";

/** One item of a permission flag value: no whitespace, comma or shell metacharacter. */
const _ITEM = "[^\\s,;&|$`'\"<>()]+";
const _PERMISSION = new RegExp(
  `^(-A|--allow-all|--(allow|deny)-(read|write|net|env|sys|run|ffi|import)(=${_ITEM}(,${_ITEM})*)?)$`,
);

function _permission(v: unknown, path: ConfigPath, issues: _Issues): unknown {
  return typeof v === "string" && _PERMISSION.test(v) ? v : issues.fail(
    path,
    "must be a Deno permission flag such as --allow-read, --allow-net=host:443 or --deny-env=X",
    v,
  );
}

const _SETTINGS: Fields = {
  binPath: _str(),
  path: _str(),
  priority: _int(-20, 19),
  timeout: _num(0),
  env: _map(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    "is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
    /\0/,
    "must not contain a NUL character",
  ),
  permissions: _list(_permission, false),
};

const _HOST = _str(
  "must be a non-empty string",
  /^-|[\s\p{Cc}]/u,
  "must be a host name without whitespace and not starting with '-'",
);

function _hosts(v: unknown, path: ConfigPath, issues: _Issues): unknown {
  const hosts = _list(_HOST, true)(v, path, issues);
  if (!Array.isArray(hosts)) return undefined;
  const seen = new Map<unknown, number>();
  hosts.forEach((h, i) => {
    const first = seen.get(h);
    if (h !== undefined && first !== undefined) {
      issues.fail([...path, i], `duplicate host, already at ${_pathText([...path, first])}`, h);
    }
    if (!seen.has(h)) seen.set(h, i);
  });
  return hosts;
}

const _LOCAL: Fields = { type: (v) => v, instances: _int(1), ..._SETTINGS };
const _REMOTE_ONLY: Fields = {
  hosts: _hosts,
  username: _str(
    "must be a non-empty string",
    /^-|[\s@\p{Cc}]/u,
    "must be a user name without whitespace or '@' and not starting with '-'",
  ),
  privateKey: _str(),
  port: _int(1, 65535),
  sshOptions: _map(
    /^[A-Za-z0-9]+$/,
    "is not an OpenSSH option name (letters and digits only)",
    /[\r\n\0]/,
    "must not contain a newline",
  ),
};
const _REMOTE: Fields = { ..._LOCAL, ..._REMOTE_ONLY };
const _LOCAL_HINTS = Object.fromEntries(
  Object.keys(_REMOTE_ONLY).map((k) => [k, `"${k}" is only for processes of type "remote"`]),
);

function _process(v: unknown, path: ConfigPath, issues: _Issues): unknown {
  if (!_isPlainObject(v)) return issues.fail(path, "must be an object", v);
  if (v.type === "local") return _object(v, path, issues, _LOCAL, ["instances"], _LOCAL_HINTS);
  if (v.type === "remote") return _object(v, path, issues, _REMOTE, ["hosts", "instances"]);
  if (v.type === undefined) {
    return issues.add([...path, "type"], 'is required ("local" or "remote")', undefined);
  }
  return issues.fail([...path, "type"], 'must be "local" or "remote"', v.type);
}

function _params(v: unknown, path: ConfigPath, issues: _Issues): unknown {
  return _isPlainObject(v) ? _json(v, path, issues, []) : issues.fail(path, "must be an object", v);
}

const _GROUP: Fields = {
  name: _str(),
  command: _str(),
  params: _params,
  processes: _list(_process, true),
  ..._SETTINGS,
};
const _GROUP_HINTS = Object.fromEntries(
  ["type", "instances", ...Object.keys(_REMOTE_ONLY)].map(
    (k) => [k, `"${k}" belongs in an entry of "processes"`],
  ),
);

// ---------------------------------------------------------------- files

/** Resolves `command` the way plan.ts does for a local instance. */
/** For each local process config, the command file must exist (Deno scripts and paths only). */
function _checkFiles(g: GroupConfig, path: ConfigPath, issues: _Issues, cwd: string): void {
  if (!isDenoScript(g.command) && !g.command.includes("/")) return;
  const seen = new Set<string>();
  for (const p of g.processes) {
    if (p.type !== "local") continue;
    const file = resolveScript(g.command, p.path ?? g.path, cwd);
    if (seen.has(file)) continue;
    seen.add(file);
    const at = [...path, "command"];
    try {
      if (!Deno.statSync(file).isFile) issues.fail(at, `${file} is not a file`, g.command);
    } catch (e) {
      const what = e instanceof Deno.errors.NotFound
        ? `command file not found: ${file}`
        : `cannot stat command file ${file}: ${e instanceof Error ? e.message : e}`;
      issues.add(at, `${what} (got ${_show(g.command)})`, g.command, e);
    }
  }
}

// ---------------------------------------------------------------- public

/** Options of {@linkcode validateGroups}. */
export interface ValidateGroupsOptions {
  /** Directory relative `command`/`path` are resolved against. @default {Deno.cwd()} */
  cwd?: string;
  /** Check that the command file of each local process config exists. @default {true} */
  checkFiles?: boolean;
  /** Path prefix of the groups in issues. @default {["groups"]} */
  root?: ConfigPath;
}

function _groups(v: unknown, root: ConfigPath, issues: _Issues, options: ValidateGroupsOptions) {
  if (!Array.isArray(v)) return issues.fail(root, "must be an array of groups", v);
  if (v.length === 0) return issues.fail(root, "must not be empty: there are no groups", v);
  const names = new Map<unknown, number>();
  return v.map((raw, i) => {
    const path = [...root, i];
    const before = issues.list.length;
    const g = _object(raw, path, issues, _GROUP, ["name", "command", "processes"], _GROUP_HINTS);
    const first = names.get(g?.name);
    if (g?.name !== undefined && first !== undefined) {
      const where = _pathText([...root, first]);
      issues.fail([...path, "name"], `duplicate group name, already used by ${where}`, g.name);
    } else if (g?.name !== undefined) names.set(g.name, i);
    if (g && options.checkFiles !== false && issues.list.length === before) {
      _checkFiles(g as unknown as GroupConfig, path, issues, options.cwd ?? Deno.cwd());
    }
    return g;
  });
}

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

const _LAUNCH: Fields = {
  timeout: _num(0),
  maxProcessTimeouts: _int(0),
  maxRunningTime: _num(0),
  restart: _oneOf(["on-failure", "always", "never"]),
  maxRestarts: _int(0),
  gracePeriod: _num(0),
  backoffInitial: _num(0),
  backoffMax: _num(0),
  backoffReset: _num(0),
  checkInterval: _num(0, true),
  sshLease: _num(0, true),
  service: _bool,
  maxLineBytes: _int(1024),
};

function _launch(
  v: unknown,
  root: ConfigPath,
  issues: _Issues,
  fields = _LAUNCH,
  required: string[] = [],
) {
  const out = _object(v, root, issues, fields, required);
  const { backoffInitial: lo, backoffMax: hi } = out ?? {};
  if (typeof lo === "number" && typeof hi === "number" && hi < lo) {
    issues.fail([...root, "backoffMax"], `must be ≥ backoffInitial (${lo})`, hi);
  }
  return out;
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
  const fields: Fields = {
    $schema: _str(),
    groups: (v, path) => _groups(v, path, issues, options),
    ..._LAUNCH,
  };
  const out = _launch(input, [], issues, fields, ["groups"]);
  issues.throwIfAny();
  const { groups, $schema: _, ...launch } = out ?? {};
  return { groups: groups as GroupConfig[], options: launch as LaunchOptions };
}
