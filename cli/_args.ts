/**
 * Command-line parsing helpers over `node:util` `parseArgs`: usage errors
 * become {@linkcode CliError}s with exit code 2, numbers are checked.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { CliError, EXIT } from "./_errors.ts";
import { errorMessage } from "../_shared/errors.ts";

/** One option of a command, as `parseArgs` takes it. */
export type OptionSpec = {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
};

/** What {@linkcode parseCommand} returns. */
export interface Parsed {
  /** Option values by long name. */
  values: Record<string, string | boolean | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/**
 * Parses the arguments of `command` strictly: unknown options and more than
 * `maxPositionals` positionals are usage errors.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./_args.ts";
 * const p = parseCommand("ps", ["--json"], { json: { type: "boolean" } }, 0);
 * console.log(p.values.json); // true
 * ```
 */
export function parseCommand(
  command: string,
  args: string[],
  options: Record<string, OptionSpec>,
  maxPositionals: number,
): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    const msg = errorMessage(e);
    throw new CliError(`${msg} (see "distarch ${command} --help")`, EXIT.usage, { cause: e });
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).map((p) => JSON.stringify(p));
    throw new CliError(
      `unexpected argument(s) ${extra.join(" ")} (see "distarch ${command} --help")`,
      EXIT.usage,
    );
  }
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
}

/** Options of {@linkcode numberOption}. */
export interface NumberOptions {
  /** Only integers. @default {false} */
  integer?: boolean;
  /** Smallest value. @default {0} */
  min?: number;
  /** Largest value. @default {Infinity} */
  max?: number;
  /** How the value is named in errors. @default {`--${name}`} */
  label?: string;
  /** Said after the range in errors, e.g. what 0 means. @default {""} */
  hint?: string;
}

/**
 * Reads option `name` as a number from `min` to `max` (an integer when
 * `integer`), or `undefined` when it was not given.
 *
 * @example
 * ```ts
 * import { numberOption } from "./_args.ts";
 * console.log(numberOption({ timeout: "2.5" }, "timeout")); // 2.5
 * ```
 */
export function numberOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
  options: NumberOptions = {},
): number | undefined {
  const { integer = false, min = 0, max = Infinity, label = `--${name}`, hint = "" } = options;
  const raw = values[name];
  if (raw === undefined || typeof raw === "boolean") return undefined;
  const n = Number(raw);
  if (
    raw.trim() === "" || !Number.isFinite(n) || n < min || n > max ||
    (integer && !Number.isInteger(n))
  ) {
    const what = integer ? "an integer" : "a number";
    const range = max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new CliError(
      `${label} must be ${what} ${range}${hint ? ` (${hint})` : ""}: got ${JSON.stringify(raw)}`,
      EXIT.usage,
    );
  }
  return n;
}

/** Reads option `name` as a string, or `undefined`. */
export function stringOption(
  values: Record<string, string | boolean | undefined>,
  name: string,
): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
