/**
 * Loads a YAML config file: parses it with positions kept, validates it with
 * `validateConfig`, and reports every problem as `file:line:col path: message`.
 *
 * @module
 */

import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "npm:yaml@2.9.1";
import { type Config, ConfigError, type ConfigPath, validateConfig } from "../master/config.ts";

/** The config file `run` and `validate` read when none is given. */
export const DEFAULT_CONFIG_FILE = "distarch.yaml";

/** One problem in a config file, with its position (1-based). */
export interface FileIssue {
  /** The file as given. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** The field path, e.g. `groups[0].processes[1].hosts` (empty for YAML syntax errors). */
  pathText: string;
  /** What is wrong. */
  message: string;
}

/**
 * Thrown by {@linkcode loadConfigFile} when the file cannot be read, is not
 * YAML, or is not a valid config. Its message has one issue per line.
 */
export class ConfigFileError extends Error {
  override name = "ConfigFileError";
  /** Every issue, in file order where known. */
  readonly issues: FileIssue[];

  /** Builds the error from issues (or a bare message when the file is unreadable). */
  constructor(issues: FileIssue[], message?: string, options?: ErrorOptions) {
    super(message ?? issues.map(formatIssue).join("\n"), options);
    this.issues = issues;
  }
}

/**
 * Formats an issue as `file:line:col path: message`.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./config_file.ts";
 * formatIssue({ file: "d.yaml", line: 7, col: 9, pathText: "groups[0].name", message: "must not be empty" });
 * // "d.yaml:7:9 groups[0].name: must not be empty"
 * ```
 */
export function formatIssue(i: FileIssue): string {
  return `${i.file}:${i.line}:${i.col} ${i.pathText ? i.pathText + ": " : ""}${i.message}`;
}

/** Options of {@linkcode parseConfigText}. */
export interface ParseConfigOptions {
  /** Directory relative commands are resolved (and checked) against. @default {Deno.cwd()} */
  cwd?: string;
  /** Check that local command files exist. @default {true} */
  checkFiles?: boolean;
}

/**
 * Parses and validates config `text` (named `file` in messages). Throws a
 * {@linkcode ConfigFileError} listing every issue with its position.
 *
 * @example
 * ```ts
 * import { parseConfigText } from "./config_file.ts";
 * const text = "groups:\n  - name: g\n    command: sleep\n    processes: [{ type: local, instances: 1 }]\n";
 * const { groups } = parseConfigText(text, "d.yaml", { checkFiles: false });
 * console.log(groups[0]?.name); // "g"
 * ```
 */
export function parseConfigText(
  text: string,
  file: string,
  options: ParseConfigOptions = {},
): Config {
  const { cwd = Deno.cwd(), checkFiles = true } = options;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { file, line: pos.line, col: pos.col, pathText: "", message: firstLine(e.message) };
    }));
  }
  const input: unknown = doc.toJS({ maxAliasCount: 1000 });
  try {
    return validateConfig(input ?? {}, { cwd, checkFiles });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const issues = e.issues.map((i) => {
      const atKey = i.message.startsWith("unknown key");
      const pos = lineCounter.linePos(offsetOf(doc.contents, i.path, atKey));
      return { file, line: pos.line, col: pos.col, pathText: i.pathText, message: i.message };
    });
    throw new ConfigFileError(issues, undefined, { cause: e });
  }
}

/**
 * Reads `file` and parses it with {@linkcode parseConfigText}; relative
 * commands are resolved against the file's directory.
 */
export async function loadConfigFile(
  file: string,
  options: Omit<ParseConfigOptions, "cwd"> = {},
): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : String(e);
    throw new ConfigFileError([], `cannot read config file ${file}: ${why}`, { cause: e });
  }
  return parseConfigText(text, file, { ...options, cwd: configDir(file) });
}

/** The absolute directory of `file`, against which its relative paths are resolved. */
export function configDir(file: string): string {
  const abs = file.startsWith("/") ? file : `${Deno.cwd()}/${file}`;
  return abs.slice(0, abs.lastIndexOf("/")) || "/";
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

/**
 * The source offset best describing `path`: the value when it exists (the key
 * itself for an unknown key, or a key without value), else the deepest parent.
 */
function offsetOf(root: unknown, path: ConfigPath, atKey: boolean): number {
  let node = root as Node | null;
  let best = rangeStart(node);
  for (const [n, step] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
      if (pair === undefined) return best ?? 0;
      const value = pair.value as Node | null;
      const last = n === path.length - 1;
      const at = (last && atKey ? undefined : rangeStart(value)) ?? rangeStart(pair.key as Node);
      if (at === undefined) return best ?? 0;
      best = at;
      node = value;
    } else if (isSeq(node) && typeof step === "number") {
      const item = node.items[step] as Node | undefined;
      const at = rangeStart(item ?? null);
      if (at === undefined) return best ?? 0;
      best = at;
      node = item ?? null;
    } else break;
  }
  return best ?? 0;
}

function rangeStart(node: Node | null | undefined): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}
