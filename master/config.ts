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

/**
 * The most instances one process config may ask for (per host for a remote
 * one): each instance costs the master buffers, timers and a process, and a
 * typo such as `instances: 1000000000` must not exhaust its memory.
 */
export const MAX_INSTANCES = 10_000;

/**
 * The largest `params` of a group, in bytes of JSON: every instance receives
 * them on its first stdin line, which the master builds in memory per instance.
 */
export const MAX_PARAMS_BYTES = 16 * 1024 * 1024;

/** Control characters (C0, DEL, C1) and the Unicode line separators. */
const _CONTROL = /[\p{Cc}\u2028\u2029]/u;

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
  "must be a host name without whitespace or control characters, not starting with '-'",
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

const _LOCAL: Fields = { type: (v) => v, instances: _int(1, MAX_INSTANCES), ..._SETTINGS };
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
  if (!_isPlainObject(v)) return issues.fail(path, "must be an object", v);
  const before = issues.list.length;
  const out = _json(v, path, issues, []);
  if (issues.list.length > before) return out;
  const json = JSON.stringify(out); // at most 3 UTF-8 bytes a UTF-16 unit: count only if needed
  const bytes = json.length * 3 <= MAX_PARAMS_BYTES ? 0 : _utf8Length(json);
  if (bytes <= MAX_PARAMS_BYTES) return out;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(n % 2 ** 20 === 0 ? 0 : 1)} MiB`;
  return issues.add(
    path,
    `is ${mib(bytes)} as JSON, over the limit of ${mib(MAX_PARAMS_BYTES)}: every instance gets ` +
      "its params on one stdin line; pass large data as a file path instead",
    v,
  );
}

/** The UTF-8 length of `s`, without encoding it. */
function _utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) (n += 4, i++);
    else n += 3;
  }
  return n;
}

const _GROUP: Fields = {
  name: _str(
    "must be a non-empty string",
    _CONTROL,
    "must not contain control characters (newline, tab, escape…); use printable characters only",
  ),
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

/**
 * For each local process config, the command file must exist: Deno scripts and
 * commands with a `/` (a bare name may be a program on the PATH, see plan.ts).
 */
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
  backoffInitial: (v, path, issues) =>
    typeof v === "number" && Number.isFinite(v) && v > 0 ? v : issues.fail(
      path,
      "must be a number > 0: it is the first restart delay in seconds, " +
        "and 0 would restart a failing instance in a tight loop",
      v,
    ),
  backoffMax: _num(0),
  backoffReset: _num(0),
  checkInterval: _num(0, true),
  sshLease: _num(0, true),
  service: _bool,
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
