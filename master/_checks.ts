/**
 * The building blocks of the config rules. Each builder returns a
 * {@linkcode Field}: the check the validator runs and the JSON Schema that
 * says the same, made from the same arguments, so the two cannot drift.
 *
 * @module
 */

import { _Issues, _pathText, _unknownKey, type ConfigPath } from "./_issues.ts";

export { _Issues, _pathText, _show, ConfigError } from "./_issues.ts";
export type { ConfigIssue, ConfigPath } from "./_issues.ts";

/** A JSON Schema fragment. */
export type Schema = Record<string, unknown>;
/** Checks one value; returns its validated copy, or `undefined` after adding an issue. */
export type Check = (v: unknown, path: ConfigPath, issues: _Issues) => unknown;
/** One rule of a config field: what the validator runs, and how the schema shows it. */
export interface Field {
  /** The validator's check. */
  check: Check;
  /** The same rule as JSON Schema. */
  schema: Schema;
}
/** The fields of an object, by key. */
export type Fields = Record<string, Field>;

/** `field` with a `description` in its schema. */
export function _doc(field: Field, description: string): Field {
  return { check: field.check, schema: { ...field.schema, description } };
}

export function _isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
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
    const field = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (!field) issues.add([...path, key], _unknownKey(key, Object.keys(fields), hints), value);
    else if (value !== undefined) {
      const r = field.check(value, [...path, key], issues);
      if (r !== undefined) out[key] = r;
    }
  }
  for (const key of required) {
    if (v[key] === undefined) issues.add([...path, key], "is required", undefined);
  }
  return out;
}

/** The schema {@linkcode _object} enforces for `fields` and `required`. */
export function _objectSchema(fields: Fields, required: readonly string[]): Schema {
  const properties = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.schema]));
  return { type: "object", properties, required: [...required], additionalProperties: false };
}

// ---------------------------------------------------------------- fields

/**
 * A string, non-empty unless `empty`, that matches `pattern` (a JSON Schema
 * pattern, compiled with the `u` flag) when one is given.
 */
export function _str(
  what = "must be a non-empty string",
  pattern?: string,
  patternWhat = "",
  empty = false,
): Field {
  const re = pattern === undefined ? undefined : new RegExp(pattern, "u");
  return {
    check: (v, path, issues) => {
      if (typeof v !== "string" || (v === "" && !empty)) return issues.fail(path, what, v);
      return re && !re.test(v) ? issues.fail(path, patternWhat, v) : v;
    },
    schema: {
      type: "string",
      ...(empty ? {} : { minLength: 1 }),
      ...(pattern === undefined ? {} : { pattern }),
    },
  };
}

export function _int(min: number, max = Infinity): Field {
  const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
  return {
    check: (v, path, issues) =>
      Number.isInteger(v) && (v as number) >= min && (v as number) <= max
        ? v
        : issues.fail(path, `must be an integer ${range}`, v),
    schema: { type: "integer", minimum: min, ...(max === Infinity ? {} : { maximum: max }) },
  };
}

/** A finite number ≥ `min` (> `min` when `exclusive`); `what` replaces the message. */
export function _num(min: number, exclusive = false, what?: string): Field {
  const message = what ?? `must be a number ${exclusive ? ">" : "≥"} ${min}`;
  return {
    check: (v, path, issues) =>
      typeof v === "number" && Number.isFinite(v) && (exclusive ? v > min : v >= min)
        ? v
        : issues.fail(path, message, v),
    schema: { type: "number", ...(exclusive ? { exclusiveMinimum: min } : { minimum: min }) },
  };
}

export function _oneOf(values: readonly string[]): Field {
  const text = values.map((x) => JSON.stringify(x)).join(", ");
  return {
    check: (v, path, issues) =>
      values.includes(v as string) ? v : issues.fail(path, `must be one of ${text}`, v),
    schema: { enum: [...values] },
  };
}

/** Exactly `value`; the caller has checked it already (a discriminant). */
export function _const(value: string): Field {
  return { check: (v) => v, schema: { const: value } };
}

export const _bool: Field = {
  check: (v, path, issues) =>
    typeof v === "boolean" ? v : issues.fail(path, "must be true or false", v),
  schema: { type: "boolean" },
};

/** An array of `item`s, not empty when `nonEmpty`. */
export function _list(item: Field, nonEmpty: boolean): Field {
  return {
    check: (v, path, issues) => {
      if (!Array.isArray(v)) return issues.fail(path, "must be an array", v);
      if (nonEmpty && v.length === 0) return issues.fail(path, "must not be empty", v);
      return v.map((x, i) => item.check(x, [...path, i], issues));
    },
    schema: { type: "array", ...(nonEmpty ? { minItems: 1 } : {}), items: item.schema },
  };
}

/** An object of string → string whose keys match `keyPattern` and values `valuePattern`. */
export function _map(
  keyPattern: string,
  keyWhat: string,
  valuePattern: string,
  valueWhat: string,
): Field {
  const keyRe = new RegExp(keyPattern, "u");
  const value = _str("must be a string", valuePattern, valueWhat, true);
  return {
    check: (v, path, issues) => {
      if (!_isPlainObject(v)) return issues.fail(path, "must be an object", v);
      const out: [string, unknown][] = [];
      for (const [k, x] of Object.entries(v)) {
        if (!keyRe.test(k)) issues.fail([...path, k], keyWhat, k);
        else out.push([k, value.check(x, [...path, k], issues)]);
      }
      return Object.fromEntries(out);
    },
    schema: {
      type: "object",
      propertyNames: { pattern: keyPattern },
      additionalProperties: value.schema,
    },
  };
}

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
