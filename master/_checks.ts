/**
 * The building blocks of config validation: the error type, an issue
 * collector, and small checks that each validate one value at a path.
 *
 * @module
 */

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
  /** Always `"ConfigError"`. */
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
export function _pathText(path: ConfigPath): string {
  let out = "";
  for (const p of path) {
    if (typeof p === "number") out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${JSON.stringify(p)}]`;
  }
  return out;
}

/** A value as short JSON-ish text (≤ 80 chars) for messages. */
export function _show(v: unknown): string {
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
export class _Issues {
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

export type Check = (v: unknown, path: ConfigPath, issues: _Issues) => unknown;
export type Fields = Record<string, Check>;

export function _isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function _distance(a: string, b: string): number {
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
export function _closest(key: string, known: string[]): string | undefined {
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

export function _unknownKey(key: string, known: string[], hints: Record<string, string>): string {
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
export function _object(
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

export function _str(
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

export function _int(min: number, max = Infinity): Check {
  const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
  return (v, path, issues) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max
      ? v
      : issues.fail(path, `must be an integer ${range}`, v);
}

export function _num(min: number, exclusive = false): Check {
  return (v, path, issues) =>
    typeof v === "number" && Number.isFinite(v) && (exclusive ? v > min : v >= min)
      ? v
      : issues.fail(path, `must be a number ${exclusive ? ">" : "≥"} ${min}`, v);
}

export function _oneOf(values: readonly string[]): Check {
  const text = values.map((x) => JSON.stringify(x)).join(", ");
  return (v, path, issues) =>
    values.includes(v as string) ? v : issues.fail(path, `must be one of ${text}`, v);
}

export function _list(item: Check, nonEmpty: boolean): Check {
  return (v, path, issues) => {
    if (!Array.isArray(v)) return issues.fail(path, "must be an array", v);
    if (nonEmpty && v.length === 0) return issues.fail(path, "must not be empty", v);
    return v.map((x, i) => item(x, [...path, i], issues));
  };
}

/** An object of string → string whose keys match `keyRe`. */
export function _map(keyRe: RegExp, keyWhat: string, valueBad: RegExp, valueWhat: string): Check {
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

export const _bool: Check = (v, path, issues) =>
  typeof v === "boolean" ? v : issues.fail(path, "must be true or false", v);

/** Deep-copies a JSON-serialisable value; names the deep path of anything that is not. */
export function _json(
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
