/**
 * unknown (parsed YAML/JSON, or a plain object) → validated configuration.
 * Every problem is collected and named by the path of its field, e.g.
 * `groups[1].processes[0].hosts: must not be empty (got [])`.
 *
 * @module
 */

import { isDenoScript, resolveScript } from "./plan.ts";
import type { GroupConfig, LaunchOptions } from "./types.ts";

/** Where a value sits in the input, e.g. `["groups", 1, "processes", 0, "hosts"]`. */
export type ConfigPath = (string | number)[];

/** One problem found in a configuration. */
export interface ConfigIssue {
  /** Path of the offending field. */
  path: ConfigPath;
  /** The path as text, e.g. `groups[1].processes[0].hosts`. */
  pathText: string;
  /** What is wrong, with the value shown when it helps, e.g. `must not be empty (got [])`. */
  message: string;
  /** The offending value (`undefined` for a missing key). */
  value: unknown;
  /** The underlying error, if any (e.g. a failed `Deno.statSync`). */
  cause?: unknown;
}

/**
 * Thrown when a configuration is invalid. Lists every issue found, one per line;
 * `path`, `pathText` and `value` describe the first one.
 *
 * @example
 * ```ts
 * import { ConfigError, validateGroups } from "./config.ts";
 * try {
 *   validateGroups([]);
 * } catch (e) {
 *   if (!(e instanceof ConfigError)) throw e;
 *   console.log(e.pathText, e.issues.length); // "groups" 1
 * }
 * ```
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** Path of the first issue. */
  readonly path: ConfigPath;
  /** Path of the first issue, as text. */
  readonly pathText: string;
  /** Offending value of the first issue. */
  readonly value: unknown;
  /** All issues, in input order. */
  readonly issues: ConfigIssue[];

  /** Builds the error from a non-empty list of issues. */
  constructor(issues: ConfigIssue[], options?: ErrorOptions) {
    const cause = issues.find((i) => i.cause !== undefined)?.cause;
    super(
      issues.map((i) => i.pathText ? `${i.pathText}: ${i.message}` : i.message).join("\n"),
      options ?? (cause === undefined ? undefined : { cause }),
    );
    const first = issues[0];
    this.path = first?.path ?? [];
    this.pathText = first?.pathText ?? "";
    this.value = first?.value;
    this.issues = issues;
  }
}

// ---------------------------------------------------------------- helpers

/** Renders a path as `groups[1].processes[0].hosts`. */
function _pathText(path: ConfigPath): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** A value as short JSON-ish text (≤ 80 chars) for messages. */
function _show(v: unknown): string {
  let s: string;
  if (typeof v === "function") s = "a function";
  else if (typeof v === "bigint") s = `${v}n`;
  else if (v === undefined || typeof v === "symbol" || typeof v === "number") s = String(v);
  else {
    try {
      s = JSON.stringify(v) ?? String(v);
    } catch {
      s = Object.prototype.toString.call(v);
    }
  }
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/** Collects issues; checks return `undefined` on failure. */
class _Issues {
  list: ConfigIssue[] = [];
  add(path: ConfigPath, message: string, value: unknown, cause?: unknown): undefined {
    const issue: ConfigIssue = { path, pathText: _pathText(path), message, value };
    if (cause !== undefined) issue.cause = cause;
    this.list.push(issue);
    return undefined;
  }
  /** Adds `what (got <value>)`. */
  fail(path: ConfigPath, what: string, value: unknown): undefined {
    return this.add(path, `${what} (got ${_show(value)})`, value);
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new ConfigError(this.list);
  }
}

type Check = (v: unknown, path: ConfigPath, issues: _Issues) => unknown;
type Fields = Record<string, Check>;

function _isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function _distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** The known key `key` was probably meant to be, if one is close enough. */
function _closest(key: string, known: string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const exact = known.find((k) => norm(k) === norm(key));
  if (exact) return exact;
  const limit = key.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestD = limit + 1;
  for (const k of known) {
    const d = _distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

function _unknownKey(key: string, known: string[], hints: Record<string, string>): string {
  if (Object.hasOwn(hints, key)) return `unknown key (${hints[key]})`;
  const guess = _closest(key, known);
  return guess
    ? `unknown key (did you mean "${guess}"?)`
    : `unknown key (expected one of: ${known.join(", ")})`;
}

/**
 * Checks a plain object against `fields`: unknown keys and missing required keys
 * are issues. Returns a copy holding the valid fields. `undefined` counts as absent.
 */
function _object(
  v: unknown,
  path: ConfigPath,
  issues: _Issues,
  fields: Fields,
  required: readonly string[],
  hints: Record<string, string> = {},
): Record<string, unknown> | undefined {
  if (!_isPlainObject(v)) return issues.fail(path, "must be an object", v);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    const check = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (!check) issues.add([...path, key], _unknownKey(key, Object.keys(fields), hints), value);
    else if (value !== undefined) {
      const r = check(value, [...path, key], issues);
      if (r !== undefined) out[key] = r;
    }
  }
  for (const key of required) {
    if (v[key] === undefined) issues.add([...path, key], "is required", undefined);
  }
  return out;
}

// ---------------------------------------------------------------- checks

function _str(
  what = "must be a non-empty string",
  bad?: RegExp,
  badWhat = "",
  empty = false,
): Check {
  return (v, path, issues) => {
    if (typeof v !== "string" || (v === "" && !empty)) return issues.fail(path, what, v);
    return bad?.test(v) ? issues.fail(path, badWhat, v) : v;
  };
}

function _int(min: number, max = Infinity): Check {
  const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
  return (v, path, issues) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? v
      : issues.fail(path, `must be an integer ${range}`, v);
}

function _num(min: number, exclusive = false): Check {
  return (v, path, issues) =>
    typeof v === "number" && Number.isFinite(v) && (exclusive ? v > min : v >= min)
      ? v
      : issues.fail(path, `must be a number ${exclusive ? ">" : "≥"} ${min}`, v);
}

function _oneOf(values: readonly string[]): Check {
  const text = values.map((x) => JSON.stringify(x)).join(", ");
  return (v, path, issues) =>
    values.includes(v as string) ? v : issues.fail(path, `must be one of ${text}`, v);
}

function _list(item: Check, nonEmpty: boolean): Check {
  return (v, path, issues) => {
    if (!Array.isArray(v)) return issues.fail(path, "must be an array", v);
    if (nonEmpty && v.length === 0) return issues.fail(path, "must not be empty", v);
    return v.map((x, i) => item(x, [...path, i], issues));
  };
}

/** An object of string → string whose keys match `keyRe`. */
function _map(keyRe: RegExp, keyWhat: string, valueBad: RegExp, valueWhat: string): Check {
  const value = _str("must be a string", valueBad, valueWhat, true);
  return (v, path, issues) => {
    if (!_isPlainObject(v)) return issues.fail(path, "must be an object", v);
    const out: [string, unknown][] = [];
    for (const [k, x] of Object.entries(v)) {
      if (!keyRe.test(k)) issues.fail([...path, k], keyWhat, k);
      else out.push([k, value(x, [...path, k], issues)]);
    }
    return Object.fromEntries(out);
  };
}

const _bool: Check = (v, path, issues) =>
  typeof v === "boolean" ? v : issues.fail(path, "must be true or false", v);

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

/** Deep-copies a JSON-serialisable value; names the deep path of anything that is not. */
function _json(
  v: unknown,
  path: ConfigPath,
  issues: _Issues,
  stack: [object, ConfigPath][],
): unknown {
  const bad = (what: string, x: unknown = v) =>
    issues.add(path, `not JSON-serialisable (${what})`, x);
  if (typeof v === "string" || typeof v === "boolean" || v === null) return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : bad(String(v));
  if (typeof v !== "object") return bad(typeof v);
  const cycle = stack.find(([o]) => o === v);
  if (cycle) return bad(`cycle back to ${_pathText(cycle[1])}`);
  const isArray = Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype;
  if (!isArray && !_isPlainObject(v)) return bad(`${v.constructor?.name ?? "unknown"} instance`);
  stack.push([v, path]);
  try {
    if (isArray) return (v as unknown[]).map((x, i) => _json(x, [...path, i], issues, stack));
    if (Object.getOwnPropertySymbols(v).length > 0) bad("symbol key");
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, _json(x, [...path, k], issues, stack)]),
    );
  } finally {
    stack.pop();
  }
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
