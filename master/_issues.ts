/**
 * Where config problems are collected and how they are told: the error type,
 * the issue collector, path and value rendering, and "did you mean" guesses.
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
